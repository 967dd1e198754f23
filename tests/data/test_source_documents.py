"""A declared query's documents: fetched undecoded by the thread that streams the pages (so it can send the next
query at once) and decoded into records by the consuming thread; jsonb, json and text documents alike, and a
document that is not a JSON object is one clear configuration error."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from harness.data.readers import RawRecord, SourceReader
from harness.data.settings import parse_compare_settings
from harness.embedded import StackInfo
from harness.errors import ConfigError


def _reader(stack: StackInfo, document: str, *, key: str = "c.id", version: bool = False) -> SourceReader:
    extra = {"version": "row_version"} if version else {}
    columns = ", c.row_version" if version else ""
    settings = parse_compare_settings(
        {
            "collections": {
                "characters": {
                    "destination": "characters",
                    "key_type": "uuid",
                    "query": f"SELECT {key} AS key, {document} AS document{columns} FROM characters c",
                    **extra,
                }
            }
        }
    )
    return SourceReader(stack.source_dsn, mapping=settings.mapping, page_size=7)


@pytest.mark.slow
@pytest.mark.parametrize("cast", ["", "::json", "::text"])
def test_documents_are_decoded_records_in_key_order(stack: StackInfo, cast: str) -> None:
    reader = _reader(stack, f"jsonb_build_object('name', c.char_name, 'level', c.level){cast}")
    try:
        records = list(reader.read("characters"))
    finally:
        reader.close()
    assert len(records) == stack.characters
    assert [key for key, _ in records] == sorted(key for key, _ in records)
    for key, record in records:
        assert set(record) == {"name", "level", "id"} and record["id"] == key
        assert isinstance(record["name"], str) and isinstance(record["level"], int)


@pytest.mark.slow
def test_the_streaming_thread_leaves_documents_undecoded_and_the_consumer_decodes(stack: StackInfo) -> None:
    reader = _reader(stack, "jsonb_build_object('name', c.char_name)")
    decoded_in: set[str] = set()
    finisher = reader._finisher

    def watched(collection: str) -> Callable[[list[Any]], list[RawRecord]]:
        finish = finisher(collection)

        def run(rows: list[Any]) -> list[RawRecord]:
            # (key, document) as text: nothing decoded in the fetching thread
            assert all(isinstance(key, str) and isinstance(document, str) for key, document, *_ in rows)
            decoded_in.add(threading.current_thread().name)
            return finish(rows)

        return run

    reader._finisher = watched  # type: ignore[method-assign]
    try:
        assert len(list(reader.read("characters"))) == stack.characters
    finally:
        reader.close()
    assert decoded_in == {threading.current_thread().name}


@pytest.mark.slow
def test_a_document_that_is_not_an_object_is_a_config_error(stack: StackInfo) -> None:
    reader = _reader(stack, "jsonb_build_array(c.char_name)")
    try:
        with pytest.raises(ConfigError, match=r"compare\.collections\.characters: the query's document for key"):
            list(reader.read("characters"))
    finally:
        reader.close()


@pytest.mark.slow
def test_a_declared_version_column_comes_with_each_record_as_its_sql_type(stack: StackInfo) -> None:
    reader = _reader(stack, "jsonb_build_object('name', c.char_name)", version=True)
    try:
        records = list(reader.read("characters"))
    finally:
        reader.close()
    assert len(records) == stack.characters
    assert all(set(r) == {"name", "id", "version"} and isinstance(r["version"], int) for _, r in records)


@pytest.mark.slow
def test_a_null_key_is_a_config_error(stack: StackInfo) -> None:
    reader = _reader(stack, "jsonb_build_object('name', c.char_name)", key="NULL::uuid")
    try:
        with pytest.raises(
            ConfigError, match=r"compare\.collections\.characters: the source returned a record with a null"
        ):
            list(reader.read("characters"))
    finally:
        reader.close()
