"""The plugin's fixtures for suites: the target under test (the shared embedded default on ``local``), the
pristine target, clients per backend, synthetic records, seeded data and the fuzz profile."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from ..config import RunSettings, Target
from ..config.model import LOCAL
from ..created_records import CreatedRecords, process_ledger
from ..errors import HarnessError
from ..fuzz.profiles import FuzzProfile, configure_pytest
from ..targets import local_target_of
from .exchanges import ExchangeLog
from .hooks import selected_backends
from .keys import CONTEXT, EXCHANGES, PROFILE, RUN
from .shared_stack import SharedLocalStack
from .synthetic import SYNTHETIC_OWNER, SyntheticRecords

if TYPE_CHECKING:
    from ..embedded.stack import StackInfo


@pytest.fixture(scope="session")
def created_records(pytestconfig: pytest.Config) -> CreatedRecords:
    """The ledger of records this process creates (fuzzing, differential): note every 201; whatever is still
    listed when the run ends, passed, failed or interrupted, is deleted by the run's owner."""
    return process_ledger(pytestconfig.stash[RUN][0])


@pytest.fixture(scope="session")
def harness_settings(pytestconfig: pytest.Config) -> RunSettings:
    return pytestconfig.stash[CONTEXT].settings


@pytest.fixture(scope="session")
def target(pytestconfig: pytest.Config) -> Target:
    """The target under test; for ``local`` the shared embedded default, started on first use."""
    return _run_target(pytestconfig, "main")


@pytest.fixture(scope="session")
def pristine_target(pytestconfig: pytest.Config) -> Target:
    """The target for checks that hold the backends' data against each other (data parity, sampled reads).

    Writes through one backend make the two stores differ by design (there is no dual write after the flag
    flips), so on ``local`` these checks get a second embedded default, seeded and migrated alike, that no test
    writes to. A named target is what it is: the run's own writes there are synthetic and removed."""
    return _run_target(pytestconfig, "pristine")


def _run_target(pytestconfig: pytest.Config, role: str) -> Target:
    run = pytestconfig.stash[CONTEXT]
    if run.named is not None:
        return run.named
    run_id, owner = pytestconfig.stash[RUN]
    try:
        info = SharedLocalStack(run_id, owner, run.config.local, role).info()
    except HarnessError as exc:
        pytest.exit(f"harness: {exc}", returncode=3)
    return local_target_of(info)


@pytest.fixture(scope="session")
def local_stack(target: Target, pytestconfig: pytest.Config) -> StackInfo:
    """The embedded default's description (``control_url`` stops and starts its Storage Service)."""
    if target.name != LOCAL:
        pytest.skip(f"needs the embedded default, not target {target.name!r}")
    run_id, owner = pytestconfig.stash[RUN]
    return SharedLocalStack(run_id, owner, pytestconfig.stash[CONTEXT].config.local).info()


@pytest.fixture
def client(request: pytest.FixtureRequest, target: Target, backend: str) -> Iterator[httpx.Client]:
    """An httpx client for this test's backend, recording its exchanges for the report."""
    log = ExchangeLog()
    request.node.stash[EXCHANGES] = log
    with target.client(backend, event_hooks={"response": [log.on_response]}) as http:
        yield http


@pytest.fixture
def backend_clients(request: pytest.FixtureRequest, target: Target) -> Iterator[dict[str, httpx.Client]]:
    """Clients for every selected backend, side by side; skips unless there are two."""
    backends = selected_backends(request.config)
    if len(backends) < 2:
        pytest.skip(f"needs both backends; this run selects {', '.join(backends) or 'none'}")
    log = ExchangeLog()
    request.node.stash[EXCHANGES] = log
    clients = {b: target.client(b, event_hooks={"response": [log.on_response]}) for b in backends}
    try:
        yield clients
    finally:
        for http in clients.values():
            http.close()


@pytest.fixture
def synthetic(client: httpx.Client, request: pytest.FixtureRequest) -> Iterator[SyntheticRecords]:
    """Create tagged records through this test's backend; removed after the test, pass or fail."""
    if not request.node.get_closest_marker("writes"):
        raise pytest.UsageError(f"{request.node.nodeid}: uses `synthetic` (it writes) without @pytest.mark.writes")
    records = SyntheticRecords(client)
    try:
        yield records
    finally:
        records.cleanup()


@pytest.fixture(scope="session")
def seeded(target: Target, pytestconfig: pytest.Config) -> dict[str, Any]:
    """Known data, read once: characters and campaigns that every selected backend lists (the first page of
    each), never synthetic ones, and a campaign with members. Records other tests create through one backend
    exist on that backend only, so they are not known data."""
    pages: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {}
    for backend in selected_backends(pytestconfig):
        with target.client(backend) as http:
            pages[backend] = (
                http.get("/characters", params={"limit": SEEDED_PAGE}).raise_for_status().json()["items"],
                http.get("/campaigns", params={"limit": SEEDED_PAGE}).raise_for_status().json()["items"],
            )
    characters = _listed_by_all([p[0] for p in pages.values()], "owner")
    campaigns = _listed_by_all([p[1] for p in pages.values()], "dungeon_master")
    member_of = next((c["campaign_id"] for c in characters if c["campaign_id"]), None)
    if not characters or member_of is None:
        pytest.skip(f"target {target.name!r} lists no characters in campaigns on every backend to read")
    return {"characters": characters, "campaigns": campaigns, "campaign_with_members": member_of}


SEEDED_PAGE = 100


def _listed_by_all(pages: list[list[dict[str, Any]]], tag_field: str) -> list[dict[str, Any]]:
    if not pages:
        return []
    common = set.intersection(*({item["id"] for item in page} for page in pages))
    return [item for item in pages[0] if item["id"] in common and item.get(tag_field) != SYNTHETIC_OWNER]


@pytest.fixture(scope="session")
def fuzz_profile(pytestconfig: pytest.Config) -> FuzzProfile:
    """The fuzzing suites' hypothesis profile and seed (``--hypothesis-profile``, ``HARNESS_FUZZ_PROFILE``)."""
    if PROFILE not in pytestconfig.stash:
        pytestconfig.stash[PROFILE] = configure_pytest(pytestconfig)
    return pytestconfig.stash[PROFILE]
