"""``check-refs``: referential integrity on both sides (the guide's ``check_refs``), every orphan named.

- Source (SQL, inside PostgreSQL): duplicate keys in ``campaigns``/``characters`` and in the child tables'
  ``(character_id, position)``; characters whose ``campaign_id`` names no campaign; inventory items and spells
  whose character does not exist. The legacy schema has no foreign key from characters to campaigns, and a
  restored or hand-edited database may lack the others, so none of this is guaranteed by the database.
- Destination (streamed): duplicate or out-of-order ids in each collection, characters whose ``campaign_id``
  names no campaign. Campaign ids are held in memory (one per campaign; characters are streamed). Inventory and
  spells are embedded in their character there, so they cannot be orphans.
"""

from __future__ import annotations

import time

from psycopg import sql

from .canonical import Canonicalizer
from .readers import DestinationReader, ReadFailure, SourceReader
from .report import ProblemReport
from .settings import CompareSettings

# (problem kind, table/collection label, SQL selecting "key" and "detail" of each offender)
SOURCE_CHECKS: tuple[tuple[str, str, str], ...] = (
    (
        "duplicate key",
        "campaigns",
        "SELECT id::text AS key, count(*)::text || ' rows' AS detail FROM campaigns GROUP BY id HAVING count(*) > 1",
    ),
    (
        "duplicate key",
        "characters",
        "SELECT id::text AS key, count(*)::text || ' rows' AS detail FROM characters GROUP BY id HAVING count(*) > 1",
    ),
    (
        "duplicate key",
        "inventory_items",
        "SELECT character_id::text || '#' || position AS key,"
        " count(*)::text || ' rows' AS detail FROM inventory_items GROUP BY character_id, position HAVING count(*) > 1",
    ),
    (
        "duplicate key",
        "character_spells",
        "SELECT character_id::text || '#' || position AS key,"
        " count(*)::text || ' rows' AS detail FROM character_spells GROUP BY character_id, position"
        " HAVING count(*) > 1",
    ),
    (
        "dangling campaign",
        "characters",
        "SELECT c.id::text AS key, 'campaign_id ' || c.campaign_id::text"
        " || ' names no campaign' AS detail FROM characters c WHERE c.campaign_id IS NOT NULL AND NOT EXISTS"
        " (SELECT 1 FROM campaigns p WHERE p.id = c.campaign_id)",
    ),
    (
        "orphan item",
        "inventory_items",
        "SELECT i.character_id::text || '#' || i.position AS key,"
        " 'item ' || quote_literal(i.item_name) || ' of a character that does not exist' AS detail"
        " FROM inventory_items i WHERE NOT EXISTS (SELECT 1 FROM characters c WHERE c.id = i.character_id)",
    ),
    (
        "orphan spell",
        "character_spells",
        "SELECT s.character_id::text || '#' || s.position AS key,"
        " 'spell ' || quote_literal(s.spell_name) || ' of a character that does not exist' AS detail"
        " FROM character_spells s WHERE NOT EXISTS (SELECT 1 FROM characters c WHERE c.id = s.character_id)",
    ),
)


def check_source(reader: SourceReader, report: ProblemReport) -> None:
    for kind, table, query in SOURCE_CHECKS:
        count_sql = sql.SQL("SELECT count(*) AS n FROM ({}) AS q").format(sql.SQL(query))
        total = int(reader.query(table, None, count_sql, [])[0]["n"])
        if not total:
            continue
        listed = sql.SQL("{} ORDER BY 1 LIMIT %s").format(sql.SQL(query))
        rows = reader.query(table, None, listed, [report.detail_limit])
        for row in rows:
            report.add(kind, f"source {table}/{row['key']}", row["detail"])
        report.counts[kind] += total - len(rows)  # counted in full, listed up to the limit
    for table in ("campaigns", "characters", "inventory_items", "character_spells"):
        count_sql = sql.SQL("SELECT count(*) AS n FROM {}").format(sql.Identifier(table))
        report.checked[f"source {table}"] = int(reader.query(table, None, count_sql, [])[0]["n"])


def check_destination(reader: DestinationReader, settings: CompareSettings, report: ProblemReport) -> None:
    campaigns: set[str] = set()
    last: str | None = None
    for key, _ in reader.read("campaigns"):
        if last is not None and key <= last:
            report.add("duplicate key", f"destination campaigns/{key}", "the id repeats or is out of order")
        last = key
        campaigns.add(key)
    report.checked["destination campaigns"] = len(campaigns)
    canonical = Canonicalizer(settings, "characters", "destination")
    last, count = None, 0
    for key, raw in reader.read("characters"):
        count += 1
        if last is not None and key <= last:
            report.add("duplicate key", f"destination characters/{key}", "the id repeats or is out of order")
        last = key
        campaign = canonical(raw).get("campaign_id")
        if campaign is not None and campaign not in campaigns:
            where = f"destination characters/{key}"
            report.add("dangling campaign", where, f"campaign_id {campaign} names no campaign")
    report.checked["destination characters"] = count


def check_refs(
    source: SourceReader | None, destination: DestinationReader | None, settings: CompareSettings
) -> ProblemReport:
    report = ProblemReport("check-refs")
    started = time.monotonic()
    for side, run in (
        ("source", (lambda: check_source(source, report)) if source else None),
        ("destination", (lambda: check_destination(destination, settings, report)) if destination else None),
    ):
        if run is None:
            continue
        try:
            run()
        except ReadFailure as exc:
            report.incomplete = f"{report.incomplete + '; ' if report.incomplete else ''}{side}: {exc}"
    report.elapsed_s = time.monotonic() - started
    return report
