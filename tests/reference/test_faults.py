import pytest

from reference_system.faults import FaultError, FaultSet, parse_fault, parse_faults


def test_defaults_and_values() -> None:
    assert parse_fault("stale_cache").value == "1"
    assert parse_fault("latency=0.6").number == 0.6
    assert parse_fault("missing-field").value == "name"


def test_scope_selects_one_backend() -> None:
    faults = parse_faults(["storage:latency=0.3,error_rate=0.02"])
    storage = FaultSet.for_backend(faults, "storage")
    legacy = FaultSet.for_backend(faults, "legacy")
    assert "latency" in storage and "latency" not in legacy
    assert "error_rate" in storage and "error_rate" in legacy


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("latncy=1", "did you mean 'latency'"),
        ("latency", "needs a value"),
        ("error_rate=2", "out of range"),
        ("latency=fast", "needs a number"),
        ("cloud:latency=1", "unknown scope"),
        ("storage:storage_outage", "takes no 'storage' scope"),
    ],
)
def test_bad_specs_say_what_to_fix(spec: str, message: str) -> None:
    with pytest.raises(FaultError, match=message):
        parse_fault(spec)


def test_stack_faults_do_not_reach_services() -> None:
    faults = parse_faults(["storage_outage", "missing_records=2"])
    assert not FaultSet.for_backend(faults, "storage").faults


def test_access_faults_are_stack_faults() -> None:
    assert parse_fault("reader_can_write").value == "both"
    assert parse_fault("reader_can_write=postgres").value == "postgres"
    with pytest.raises(FaultError, match="use one of storage, postgres, both"):
        parse_fault("reader_can_write=everything")
    with pytest.raises(FaultError, match="whole stack"):
        parse_fault("storage:open_storage")
