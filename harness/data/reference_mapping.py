"""The reference Character Service's layout as a declared mapping: the default of ``[targets.X.compare]``.

It is written exactly as a user writes theirs in the targets file (under ``[targets.X.compare]``, the tables
below gain that prefix) and read by the same parser; nothing else in ``harness.data`` knows the reference's
tables. ``harness data mapping`` prints it as a starting point for another deployment.

The queries build the storage document each legacy row becomes in the reference migration (the guide's
"convert database models to storage models"), inside PostgreSQL, so that range checksums are computed on the
source exactly as the Storage Service computes them. The destination's renames map the storage document into
the canonical names differences are reported in (the Character Service API's); they are not written here but
taken from the ``x-api-name`` of each field of the shipped storage documents schema (``documents``).
"""

from .documents import api_names


def _renames(collection: str) -> str:
    pairs = "".join(f'{field} = "{api}"\n' for field, api in api_names(collection).items())
    return f"\n[collections.{collection}.renames.destination]\n{pairs}"


_CAMPAIGNS = r'''
[collections.campaigns]
destination = "campaigns"
api = "/campaigns/{key}"
key_type = "uuid"
version = "version"
query = """
SELECT c.id AS key, c.row_version AS version,
       jsonb_build_object(
         'name', c.title, 'dungeonMaster', c.dm_name, 'setting', c.setting, 'status', c.status,
         'createdAt', to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
         'updatedAt', to_char(c.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
       ) AS document
FROM campaigns c
"""
'''

_CHARACTERS = r'''
[collections.characters]
destination = "characters"
api = "/characters/{key}"
key_type = "uuid"
version = "version"
query = """
SELECT c.id AS key, c.row_version AS version,
       jsonb_build_object(
         'ownerId', c.owner_id, 'name', c.char_name, 'race', c.race, 'characterClass', c.char_class,
         'level', c.level,
         'abilityScores', jsonb_build_object(
           'strength', c.str_score, 'dexterity', c.dex_score, 'constitution', c.con_score,
           'intelligence', c.int_score, 'wisdom', c.wis_score, 'charisma', c.cha_score),
         'hitPoints', c.hp, 'alignment', c.alignment, 'background', c.background,
         'campaignId', c.campaign_id::text,
         'inventory', coalesce((
           SELECT jsonb_agg(jsonb_build_object(
                    'name', i.item_name, 'quantity', i.quantity,
                    'weight', CASE WHEN scale(trim_scale(i.weight_lb)) = 0 THEN round(i.weight_lb, 1)
                                   ELSE trim_scale(i.weight_lb) END,
                    'equipped', i.equipped) ORDER BY i.position)
           FROM inventory_items i WHERE i.character_id = c.id), '[]'::jsonb),
         'spells', coalesce((
           SELECT jsonb_agg(jsonb_build_object('name', s.spell_name, 'level', s.spell_level,
                                               'prepared', s.prepared) ORDER BY s.position)
           FROM character_spells s WHERE s.character_id = c.id), '[]'::jsonb),
         'createdAt', to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
         'updatedAt', to_char(c.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
       ) AS document
FROM characters c
"""
'''

_CHILDREN = r"""
# child tables: the query above reads them; declared so check-refs finds orphans and duplicate positions
[collections.characters.children.inventory]
table = "inventory_items"
join = "character_id"
order = "position"

[collections.characters.children.spells]
table = "character_spells"
join = "character_id"
order = "position"

[collections.characters.references]
campaign_id = "campaigns"
"""

REFERENCE_MAPPING_TOML = _CAMPAIGNS + _renames("campaigns") + _CHARACTERS + _renames("characters") + _CHILDREN
