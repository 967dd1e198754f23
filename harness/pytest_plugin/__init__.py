"""The harness's pytest plugin (registered through the ``pytest11`` entry point): targets, backends and shared
fixtures for every suite under ``suites/``, production safety, and Allure results.

Options: ``--target NAME``, ``--backend legacy|storage|both``, ``--allow-writes``; each also from ``HARNESS_*``
and the targets file, with the precedence option > environment > file > default.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ..config import Config, RunSettings, Target, load_config, resolve_settings, resolve_target
from ..config.loader import stack_target
from ..config.model import BACKENDS, LOCAL
from ..errors import HarnessError
from ..fuzz.profiles import register_profiles
from . import allure_report
from .exchanges import ExchangeLog
from .probe import probe_target
from .shared_stack import ROLES, SharedLocalStack
from .synthetic import SYNTHETIC_OWNER, SyntheticRecords, sweep

CONFIG = pytest.StashKey[Config]()
SETTINGS = pytest.StashKey[RunSettings]()
RUN = pytest.StashKey[tuple[str, int]]()  # run id, owner pid
EXCHANGES = pytest.StashKey[ExchangeLog]()
SUITE_MARKERS = {
    "smoke": "post-deploy smoke checks (read-only)",
    "api": "every operation of the Character Service contract",
    "integration": "end-to-end flows across operations and services",
    "staging": "what the migration guide runs in staging",
    "data": "data parity between source and destination",
    "contract": "schemathesis fuzzing of the contract",
    "differential": "the two backends held against each other",
    "security": "access control of the Storage Service and the harness's own credentials (read-only)",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "storage migration harness")
    group.addoption(
        "--target",
        dest="harness_target",
        metavar="NAME",
        help="target from the targets file, or 'local' (the embedded default); env HARNESS_TARGET",
    )
    group.addoption(
        "--backend",
        dest="harness_backend",
        metavar="legacy|storage|both",
        help="backends to test (default: every backend the target defines); env HARNESS_BACKEND",
    )
    group.addoption(
        "--allow-writes",
        dest="harness_allow_writes",
        action="store_true",
        default=None,
        help="on a production target, run tests that write (synthetic, tagged, cleaned-up records)",
    )


def _fail(message: str) -> pytest.UsageError:
    return pytest.UsageError(f"harness: {message}")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    for name, description in SUITE_MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {description}")
    config.addinivalue_line("markers", "writes: the test writes; skipped on production targets without --allow-writes")
    config.addinivalue_line("markers", "local_only: needs the embedded default (it stops and starts its services)")
    # hypothesis loads --hypothesis-profile in its own pytest_configure; ours runs first (tryfirst), so the
    # harness's ci and nightly profiles exist by then, whichever suites were collected.
    register_profiles()
    try:
        harness_config = load_config()
        settings = resolve_settings(
            harness_config,
            target=config.getoption("harness_target"),
            backend=config.getoption("harness_backend"),
            allow_writes=config.getoption("harness_allow_writes"),
        )
        resolve_target(harness_config, settings.target)
    except HarnessError as exc:
        raise _fail(str(exc)) from None
    config.stash[CONFIG] = harness_config
    config.stash[SETTINGS] = settings
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        config.stash[RUN] = (workerinput["harness_run_id"], workerinput["harness_owner_pid"])
    else:
        config.stash[RUN] = (uuid.uuid4().hex, os.getpid())
        if config.pluginmanager.hasplugin("xdist"):
            config.pluginmanager.register(_XdistController(config), "harness-xdist-controller")
        target = harness_config.targets.get(settings.target)
        if target is not None:  # a named target must answer before anything runs
            try:
                probe_target(target, selected_backends(config))
            except HarnessError as exc:
                raise _fail(str(exc)) from None
    allure_report.configure(config)


class _XdistController:
    """Hands the run id and owner pid to every worker, so they share one local stack."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def pytest_configure_node(self, node: Any) -> None:
        run_id, owner = self.config.stash[RUN]
        node.workerinput["harness_run_id"] = run_id
        node.workerinput["harness_owner_pid"] = owner


def pytest_unconfigure(config: pytest.Config) -> None:
    if getattr(config, "workerinput", None) is None and RUN in config.stash and CONFIG in config.stash:
        run_id, owner = config.stash[RUN]
        for role in ROLES:
            SharedLocalStack(run_id, owner, config.stash[CONFIG].local, role).stop()


def selected_backends(config: pytest.Config) -> tuple[str, ...]:
    settings = config.stash[SETTINGS]
    target = config.stash[CONFIG].targets.get(settings.target)
    available = BACKENDS if target is None else tuple(b for b in BACKENDS if b in target.backends)
    if settings.backends is None:
        return available
    return tuple(b for b in settings.backends if b in available)


def pytest_report_header(config: pytest.Config) -> list[str]:
    settings = config.stash[SETTINGS]
    target = config.stash[CONFIG].targets.get(settings.target)
    environment = "dev, the embedded default" if target is None else target.environment
    return [
        f"harness: target {settings.target} ({environment}), backends: {', '.join(selected_backends(config))},"
        f" writes: {'allowed' if settings.allow_writes else 'production-safe'}"
        f" (target from {settings.sources['target']})"
    ]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames and not _parametrizes_backend_itself(metafunc):
        backends = selected_backends(metafunc.config)
        metafunc.parametrize("backend", backends, ids=list(backends))


def _parametrizes_backend_itself(metafunc: pytest.Metafunc) -> bool:
    # A test may name its own backends (e.g. the harness's tests of the stack);
    # adding ours on top would be a duplicate parametrization.
    for marker in metafunc.definition.iter_markers("parametrize"):
        argnames = marker.args[0] if marker.args else marker.kwargs.get("argnames", "")
        names = [n.strip() for n in argnames.split(",")] if isinstance(argnames, str) else list(argnames)
        if "backend" in names:
            return True
    return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        allure_report.label(item)


def pytest_runtest_setup(item: pytest.Item) -> None:
    config = item.config
    settings = config.stash[SETTINGS]
    target = config.stash[CONFIG].targets.get(settings.target)
    if item.get_closest_marker("writes") and target is not None and target.is_production and not settings.allow_writes:
        pytest.skip(f"writes: skipped on production target {target.name!r}; pass --allow-writes to run it")
    if item.get_closest_marker("local_only") and target is not None:
        pytest.skip(f"local_only: needs the embedded default, not target {target.name!r}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    if getattr(report, "failed", False) and EXCHANGES in item.stash and item.stash[EXCHANGES].exchanges:
        allure_report.attach_exchanges(item.stash[EXCHANGES].to_json())
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    if getattr(config, "workerinput", None) is None and SETTINGS in config.stash:
        settings = config.stash[SETTINGS]
        target = config.stash[CONFIG].targets.get(settings.target)
        if target is not None and (settings.allow_writes or not target.is_production):
            # every worker is done now: sweep synthetic records an interrupted test could not remove
            for backend in selected_backends(config):
                with target.client(backend) as http:
                    sweep(http)
        allure_report.write_environment(
            config,
            {
                "target": settings.target,
                "environment": "dev" if target is None else target.environment,
                "backends": ", ".join(selected_backends(config)),
                "writes": "allowed" if settings.allow_writes else "production-safe",
            },
        )


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def harness_settings(pytestconfig: pytest.Config) -> RunSettings:
    return pytestconfig.stash[SETTINGS]


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
    settings = pytestconfig.stash[SETTINGS]
    config = pytestconfig.stash[CONFIG]
    named = resolve_target(config, settings.target)
    if named is not None:
        return named
    run_id, owner = pytestconfig.stash[RUN]
    try:
        info = SharedLocalStack(run_id, owner, config.local, role).info()
    except HarnessError as exc:
        pytest.exit(f"harness: {exc}", returncode=3)
    return stack_target(info)


@pytest.fixture(scope="session")
def local_stack(target: Target, pytestconfig: pytest.Config) -> dict[str, Any]:
    """The embedded default's description (``control_url`` stops and starts its Storage Service)."""
    if target.name != LOCAL:
        pytest.skip(f"needs the embedded default, not target {target.name!r}")
    run_id, owner = pytestconfig.stash[RUN]
    return SharedLocalStack(run_id, owner, pytestconfig.stash[CONFIG].local).info()


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
