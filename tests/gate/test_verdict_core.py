"""The one verdict type and the gate's decision rule (pure logic)."""

from __future__ import annotations

from harness.verdict import Decision, Outcome, decide, failed, inconclusive, passed, skipped


def test_every_deciding_check_passed_is_go() -> None:
    assert decide([passed("a.x", "ok"), passed("b.y", "ok"), skipped("c.z", "production")]) is Decision.GO


def test_one_failure_is_no_go_even_beside_inconclusive_checks() -> None:
    results = [passed("a.x", "ok"), inconclusive("b.y", "unreachable"), failed("c.z", "3 differences")]
    assert decide(results) is Decision.NO_GO


def test_inconclusive_is_never_go() -> None:
    assert decide([passed("a.x", "ok"), inconclusive("b.y", "no data")]) is Decision.INCONCLUSIVE


def test_nothing_decided_is_inconclusive() -> None:
    assert decide([]) is Decision.INCONCLUSIVE
    assert decide([skipped("a.x", "production"), skipped("b.y", "not selected")]) is Decision.INCONCLUSIVE


def test_report_only_checks_never_decide() -> None:
    shown = failed("performance.compare", "storage slower").with_(report_only=True)
    assert not shown.deciding
    assert decide([passed("a.x", "ok"), shown]) is Decision.GO
    assert decide([shown]) is Decision.INCONCLUSIVE


def test_an_interrupted_run_is_inconclusive_unless_something_failed() -> None:
    assert decide([passed("a.x", "ok")], interrupted=True) is Decision.INCONCLUSIVE
    assert decide([failed("a.x", "bad")], interrupted=True) is Decision.NO_GO


def test_exit_codes() -> None:
    assert [d.exit_code for d in Decision] == [0, 1, 4]


def test_a_result_serialises_with_its_phase() -> None:
    doc = failed("data.compare", "1 difference").to_dict()
    assert doc["phase"] == "data" and doc["outcome"] == Outcome.FAIL.value
