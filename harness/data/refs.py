"""``check-refs``: referential integrity on both sides (the guide's ``check_refs``), every orphan named, over the
declared mapping (``mapping.CollectionMapping``: its key, child tables and ``references``).

- Source (SQL, inside PostgreSQL): duplicate keys in each collection's declared source and in each child
  table's ``(join, order)``; child rows whose parent does not exist; records whose referring field (a
  ``references`` entry) names no record of the collection it refers to. A legacy schema may have no foreign key
  for these (the reference's has none from characters to campaigns), and a restored or hand-edited database may
  lack the others, so none of this is guaranteed by the database.
- Destination (streamed): duplicate or out-of-order ids in each collection, records whose referring field
  names no record of the collection it refers to (the keys of referred-to collections are held in memory;
  the others are streamed). Child rows are embedded in their record there, so they cannot be orphans.
"""

from __future__ import annotations

import time

from psycopg import sql

from .canonical import Canonicalizer
from .mapping import CollectionMapping
from .readers import DestinationReader, ReadFailure, SourceReader, embedded
from .report import ProblemReport
from .settings import CompareSettings

Check = tuple[str, str, sql.Composable]  # (problem kind, table/collection label, SQL selecting key and detail)


def _relation(
    reader: SourceReader, collection: str, alias: str = "q"
) -> tuple[CollectionMapping, sql.Composable, sql.Composable]:
    """The collection's records as a relation named ``alias`` and its key: the table itself where declared."""
    m = reader.mapping[collection]
    a = sql.Identifier(alias)
    if m.table is not None:
        return (
            m,
            sql.SQL("{} AS {}").format(sql.Identifier(m.table), a),
            sql.SQL("{}.{}").format(a, sql.Identifier(m.key)),
        )
    return m, sql.SQL("({}) AS {}").format(embedded(m.source_query()), a), sql.SQL("{}.key").format(a)


def _field(m: CollectionMapping, canonical: str) -> sql.Composable | None:
    """SQL for the text of a canonical field on the source: a column of a table, a path of a query's document."""
    path = m.source_path(canonical).split(".")
    if m.table is not None:
        return sql.SQL("q.{}::text").format(sql.Identifier(path[0])) if len(path) == 1 else None
    return sql.SQL("(q.document #>> {})").format(sql.Literal(path))


def source_checks(reader: SourceReader, collections: tuple[str, ...]) -> list[Check]:
    checks: list[Check] = []
    for collection in collections:
        m, relation, key = _relation(reader, collection)
        checks.append(
            (
                "duplicate key",
                collection,
                sql.SQL(
                    "SELECT {k}::text AS key, count(*)::text || ' rows' AS detail FROM {r} GROUP BY {k}"
                    " HAVING count(*) > 1"
                ).format(k=key, r=relation),
            )
        )
        for child in m.children:
            table, join = sql.Identifier(child.table), sql.Identifier(child.join)
            position = sql.SQL(" || '#' || c.{}::text").format(sql.Identifier(child.order)) if child.order else None
            child_key = sql.SQL("c.{}::text{}").format(join, position or sql.SQL(""))
            if child.order:
                checks.append(
                    (
                        "duplicate key",
                        child.table,
                        sql.SQL(
                            "SELECT {ck} AS key, count(*)::text || ' rows' AS detail FROM {t} c"
                            " GROUP BY c.{j}, c.{o} HAVING count(*) > 1"
                        ).format(ck=child_key, t=table, j=join, o=sql.Identifier(child.order)),
                    )
                )
            checks.append(
                (
                    "orphan row",
                    child.table,
                    sql.SQL(
                        "SELECT {ck} AS key, {label} || c.{j}::text || ' does not exist' AS detail FROM {t} c"
                        " WHERE NOT EXISTS (SELECT 1 FROM {r} WHERE {k} = c.{j})"
                    ).format(
                        ck=child_key,
                        label=sql.Literal(f"a row of {child.field}; its {collection} record "),
                        j=join,
                        t=table,
                        r=relation,
                        k=key,
                    ),
                )
            )
        for ref in m.references:
            value = _field(m, ref.field)
            if value is None:
                continue  # a child table's column: the table form reaches top-level columns only
            _, target, target_key = _relation(reader, ref.collection, alias="p")
            checks.append(
                (
                    "dangling reference",
                    collection,
                    sql.SQL(
                        "SELECT {k}::text AS key, {f} || ' ' || {v} || {names} AS detail FROM {r}"
                        " WHERE {v} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {tr} WHERE {tk}::text = {v})"
                    ).format(
                        k=key,
                        f=sql.Literal(ref.field),
                        v=value,
                        names=sql.Literal(f" names no {ref.collection} record"),
                        r=relation,
                        tr=target,
                        tk=target_key,
                    ),
                )
            )
    return checks


def check_source(reader: SourceReader, settings: CompareSettings, report: ProblemReport) -> None:
    collections = settings.collections
    for kind, label, query in source_checks(reader, collections):
        count_sql = sql.SQL("SELECT count(*) AS n FROM ({}) AS found").format(query)
        total = int(reader.query(label, None, count_sql, [])[0]["n"])
        if not total:
            continue
        listed = sql.SQL("{} ORDER BY 1 LIMIT %s").format(query)
        rows = reader.query(label, None, listed, [report.detail_limit])
        for row in rows:
            report.add(kind, f"source {label}/{row['key']}", row["detail"])
        report.counts[kind] += total - len(rows)  # counted in full, listed up to the limit
    for collection in collections:
        report.checked[f"source {collection}"] = reader.count(collection)
        for child in reader.mapping[collection].children:
            count_sql = sql.SQL("SELECT count(*) AS n FROM {}").format(sql.Identifier(child.table))
            report.checked[f"source {child.table}"] = int(reader.query(collection, None, count_sql, [])[0]["n"])


def check_destination(reader: DestinationReader, settings: CompareSettings, report: ProblemReport) -> None:
    collections = settings.collections
    referred = {ref.collection for c in collections for ref in settings.collection(c).references}
    keys: dict[str, set[str]] = {}

    def scan(collection: str, *, order: bool, refs: bool) -> None:
        m = settings.collection(collection)
        canonical = Canonicalizer(settings, collection, "destination") if refs and m.references else None
        held = keys.setdefault(collection, set()) if collection in referred and collection not in keys else None
        last: str | None = None
        count = 0
        for key, raw in reader.read(collection):
            count += 1
            if order and last is not None and key <= last:
                report.add("duplicate key", f"destination {collection}/{key}", "the id repeats or is out of order")
            last = key
            if held is not None:
                held.add(key)
            if canonical is not None:
                record = canonical(raw)
                for ref in m.references:
                    value = record.get(ref.field)
                    if value is not None and str(value) not in keys[ref.collection]:
                        report.add(
                            "dangling reference",
                            f"destination {collection}/{key}",
                            f"{ref.field} {value} names no {ref.collection} record",
                        )
        if order:
            report.checked[f"destination {collection}"] = count

    # first the collections others refer to (their keys held), then the referring ones (their fields checked)
    for collection in sorted(referred, key=lambda c: (c not in collections, c)):
        scan(collection, order=collection in collections, refs=False)
    for collection in collections:
        if settings.collection(collection).references or collection not in referred:
            scan(collection, order=collection not in referred, refs=True)


def check_refs(
    source: SourceReader | None, destination: DestinationReader | None, settings: CompareSettings
) -> ProblemReport:
    report = ProblemReport("check-refs")
    started = time.monotonic()
    for side, run in (
        ("source", (lambda: check_source(source, settings, report)) if source else None),
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
