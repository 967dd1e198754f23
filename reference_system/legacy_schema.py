"""The legacy Character Service's PostgreSQL schema: normalised tables, as a long-lived service would have them.

There is deliberately no foreign key from ``characters.campaign_id`` to ``campaigns`` (the legacy schema never
had one), so referential integrity is something the migration must check, not something the database promises.
"""

DDL = """
CREATE TABLE IF NOT EXISTS campaigns (
    id          uuid PRIMARY KEY,
    title       text NOT NULL,
    dm_name     text NOT NULL,
    setting     text NOT NULL DEFAULT '',
    status      text NOT NULL,
    row_version integer NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS characters (
    id          uuid PRIMARY KEY,
    owner_id    text NOT NULL,
    char_name   text NOT NULL,
    race        text NOT NULL,
    char_class  text NOT NULL,
    level       smallint NOT NULL,
    str_score   smallint NOT NULL,
    dex_score   smallint NOT NULL,
    con_score   smallint NOT NULL,
    int_score   smallint NOT NULL,
    wis_score   smallint NOT NULL,
    cha_score   smallint NOT NULL,
    hp          integer NOT NULL,
    alignment   text NOT NULL,
    background  text NOT NULL DEFAULT '',
    campaign_id uuid,
    row_version integer NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS characters_campaign_idx ON characters (campaign_id, id);
CREATE INDEX IF NOT EXISTS characters_owner_idx ON characters (owner_id, id);
CREATE TABLE IF NOT EXISTS inventory_items (
    character_id uuid NOT NULL REFERENCES characters (id) ON DELETE CASCADE,
    position     integer NOT NULL,
    item_name    text NOT NULL,
    quantity     integer NOT NULL,
    weight_lb    numeric(8, 2) NOT NULL,
    equipped     boolean NOT NULL,
    PRIMARY KEY (character_id, position)
);
CREATE TABLE IF NOT EXISTS character_spells (
    character_id uuid NOT NULL REFERENCES characters (id) ON DELETE CASCADE,
    position     integer NOT NULL,
    spell_name   text NOT NULL,
    spell_level  smallint NOT NULL,
    prepared     boolean NOT NULL,
    PRIMARY KEY (character_id, position)
);
"""

CHARACTER_COLUMNS = (
    "id",
    "owner_id",
    "char_name",
    "race",
    "char_class",
    "level",
    "str_score",
    "dex_score",
    "con_score",
    "int_score",
    "wis_score",
    "cha_score",
    "hp",
    "alignment",
    "background",
    "campaign_id",
    "row_version",
    "created_at",
    "updated_at",
)
CAMPAIGN_COLUMNS = ("id", "title", "dm_name", "setting", "status", "row_version", "created_at", "updated_at")
ITEM_COLUMNS = ("character_id", "position", "item_name", "quantity", "weight_lb", "equipped")
SPELL_COLUMNS = ("character_id", "position", "spell_name", "spell_level", "prepared")
