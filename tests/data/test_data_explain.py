"""``explain`` runs DeepDiff over the top-level fields that differ only (DeepDiff walks every inventory and spell
of a record at a few ms each); its answer must be exactly DeepDiff's over the whole records: a field left out is
the same on both sides, and int 1 against float 1.0 is not the same. Always field by field: a record with many
changed or renamed fields is not reported as one change of the whole record (DeepDiff's default)."""

from __future__ import annotations

from typing import Any

import pytest
from deepdiff import DeepDiff
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.data.compare import CompareOptions, compare, explain, field_diffs
from harness.data.readers import SourceReader
from harness.data.settings import parse_compare_settings
from harness.embedded import StackInfo

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from([1.0, 2.5, -0.0]), st.text(max_size=3)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.sampled_from("xyz"), inner, max_size=3)),
    max_leaves=8,
)
RECORDS = st.dictionaries(st.sampled_from(["name", "level", "inventory", "spells", "id"]), VALUES, max_size=5)


def _whole(a: dict[str, Any], b: dict[str, Any]) -> Any:
    return field_diffs(DeepDiff(a, b, verbose_level=2, threshold_to_diff_deeper=0).to_dict())


@settings(max_examples=300, deadline=None)
@given(RECORDS, RECORDS)
def test_the_explanation_is_deepdiffs_over_the_whole_records(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert explain(a, b) == _whole(a, b)


@settings(max_examples=200, deadline=None)
@given(RECORDS, st.sampled_from(["name", "level", "inventory"]), VALUES)
def test_one_changed_field_is_explained_alike(a: dict[str, Any], field: str, value: Any) -> None:
    b = {**a, field: value}  # mostly equal records, as a migration's differences are
    assert explain(a, b) == _whole(a, b)


def test_equal_values_of_other_types_are_still_named() -> None:
    a = {"name": "Ana", "level": 1, "inventory": [{"weight": 1}]}
    b = {"name": "Bo", "level": 1.0, "inventory": [{"weight": 1.0}]}
    paths = {(f.path, f.change) for f in explain(a, b)}
    assert paths == {("name", "changed"), ("level", "type changed"), ("inventory[0].weight", "type changed")}
    assert explain(a, b) == _whole(a, b)


def test_fields_named_differently_are_each_named() -> None:
    # DeepDiff's default reports records sharing under a third of their keys as one change of the whole record
    a = {"name": "Ana", "level": 1, "hitPoints": 9}
    b = {"name": "Ana", "lvl": 1, "hp": 9}
    assert DeepDiff(a, b).to_dict().keys() == {"values_changed"}  # the default: root changed, no field named
    assert [(f.path, f.change) for f in explain(a, b)] == [
        ("hitPoints", "only in source"),
        ("hp", "only in destination"),
        ("level", "only in source"),
        ("lvl", "only in destination"),
    ]


@pytest.mark.slow
def test_differences_beyond_the_listed_ones_are_counted_not_explained(stack: StackInfo) -> None:
    # the same source read twice, once with every name changed: a difference in every record
    def settings_naming(name: str) -> Any:
        query = (
            f"SELECT c.id AS key, jsonb_build_object('name', {name}, 'level', c.level) AS document FROM characters c"
        )
        return parse_compare_settings(
            {"collections": {"characters": {"destination": "characters", "key_type": "uuid", "query": query}}}
        )

    settings, changed = settings_naming("c.char_name"), settings_naming("c.char_name || '!'")
    original = SourceReader(stack.source_dsn, mapping=settings.mapping)
    renamed = SourceReader(stack.source_dsn, mapping=changed.mapping)
    try:
        report = compare(original, renamed, settings, CompareOptions(checksums=False, detail_limit=5))
    finally:
        original.close()
        renamed.close()
    (result,) = report.collections
    assert result.changed == stack.characters
    assert len(report.differences) == 5 and report.unlisted == stack.characters - 5
    assert all([f.path for f in d.fields] == ["name"] for d in report.differences)
