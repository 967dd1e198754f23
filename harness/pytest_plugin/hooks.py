"""The plugin's hooks: options and their precedence, the run's settings (resolved once, at configure), backend
parametrisation, markers (the suites', ``slow`` for what starts the embedded default, ``writes`` for contract
operations that change data), production safety, the fuzz profile of runs that fuzz, Allure and the sweep of
synthetic records at the end."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..config.run import resolve_run
from ..created_records import interrupts_held, remove_run_records
from ..errors import HarnessError
from ..fuzz.contract import SAFE_METHODS
from ..fuzz.profiles import configure_pytest, register_profiles
from . import allure_report
from .keys import CONTEXT, EXCHANGES, HELD_INTERRUPT, PROFILE, REMOVAL, RUN
from .probe import probe_target
from .shared_stack import ROLES, SharedLocalStack
from .suites import SUITES, suite_of
from .synthetic import sweep


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
    for name, suite in SUITES.items():
        config.addinivalue_line("markers", f"{name}: {suite.description}")
    config.addinivalue_line("markers", "writes: the test writes; skipped on production targets without --allow-writes")
    config.addinivalue_line("markers", "local_only: needs the embedded default (it stops and starts its services)")
    config.addinivalue_line("markers", "slow: starts a stack (on the local target: every test that takes `target`)")
    # hypothesis loads --hypothesis-profile in its own pytest_configure; ours runs first (tryfirst), so the
    # harness's ci and nightly profiles exist by then, whichever suites were collected.
    register_profiles()
    try:
        run = resolve_run(
            target=config.getoption("harness_target"),
            backend=config.getoption("harness_backend"),
            allow_writes=config.getoption("harness_allow_writes"),
        )
    except HarnessError as exc:
        raise _fail(str(exc)) from None
    config.stash[CONTEXT] = run
    config.stash[RUN] = _run_id(config)
    if _fuzzes(config):
        _configure_fuzzing(config)
    if getattr(config, "workerinput", None) is None and run.named is not None:
        try:  # a named target must answer before anything runs
            probe_target(run.named, run.backends)
        except HarnessError as exc:
            raise _fail(str(exc)) from None
    allure_report.configure(config)


def _run_id(config: pytest.Config) -> tuple[str, int]:
    """(run id, pid of the process that owns the run): every xdist worker shares the local stack of its run.
    The id is xdist's ``testrunuid``, which xdist hands to each worker; the controller fixes it here, before
    xdist starts the workers, so that it knows the id too. A local worker is a child of the controller."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        return str(workerinput["testrunuid"]), os.getppid()
    if getattr(config.option, "testrunuid", None) is None:
        config.option.testrunuid = uuid.uuid4().hex  # xdist's --testrunuid (absent without xdist)
    return str(config.option.testrunuid), os.getpid()


def pytest_unconfigure(config: pytest.Config) -> None:
    allure_report.unconfigure(config)
    if getattr(config, "workerinput", None) is None and RUN in config.stash and CONTEXT in config.stash:
        run_id, owner = config.stash[RUN]
        for role in ROLES:
            SharedLocalStack(run_id, owner, config.stash[CONTEXT].config.local, role).stop()


def selected_backends(config: pytest.Config) -> tuple[str, ...]:
    return config.stash[CONTEXT].backends


def pytest_report_header(config: pytest.Config) -> list[str]:
    run = config.stash[CONTEXT]
    settings, target = run.settings, run.named
    environment = "dev, the embedded default" if target is None else target.environment
    return [
        f"harness: target {settings.target} ({environment}), backends: {', '.join(selected_backends(config))},"
        f" writes: {'allowed' if settings.allow_writes else 'production-safe'}"
        f" (target from {settings.sources['target']})",
        *([f"harness: {config.stash[PROFILE].describe()}"] if PROFILE in config.stash else []),
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


# the fixtures that start the embedded default when the target is local
STACK_FIXTURES = frozenset({"target", "pristine_target", "local_stack"})


@pytest.hookimpl(tryfirst=True)  # before -m deselects
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    starts_a_stack = config.stash[CONTEXT].embedded
    fuzzing = False
    for item in items:
        suite = suite_of(item)
        allure_report.label(item, suite)
        if starts_a_stack and STACK_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
        if suite == "contract" and _changes_data(item):
            item.add_marker(pytest.mark.writes)
        fuzzing = fuzzing or (suite in SUITES and SUITES[suite].fuzzing)
    if fuzzing:  # a fuzzing suite found below the paths given (pytest_configure saw the paths only)
        _configure_fuzzing(config)


def _fuzzes(config: pytest.Config) -> bool:
    """Does the run include a fuzzing suite? Its paths (or testpaths) name one, or a folder above one."""
    suites = [Path(config.rootpath) / "suites" / name for name, suite in SUITES.items() if suite.fuzzing]
    for arg in config.args:
        path = Path(arg.split("::", 1)[0]).resolve()
        if any(path.is_relative_to(s) or s.is_relative_to(path) for s in suites):
            return True
    return False


def _configure_fuzzing(config: pytest.Config) -> None:
    """Hypothesis' profile and seed, for runs that fuzz only (they set hypothesis' defaults for the session)."""
    if PROFILE in config.stash:
        return
    try:
        config.stash[PROFILE] = configure_pytest(config)
    except HarnessError as exc:
        raise _fail(str(exc)) from None


def _changes_data(item: pytest.Item) -> bool:
    """A contract operation that can change data (schemathesis ids name the method: ``test_operation[POST
    /characters]``) is a write: skipped on a production target unless ``--allow-writes``, so only
    GET/HEAD/OPTIONS are fuzzed there."""
    label = item.name.split("[", 1)[1] if "[" in item.name else ""
    method = label.split(" ", 1)[0]
    return method.isupper() and method not in SAFE_METHODS


def pytest_runtest_setup(item: pytest.Item) -> None:
    run = item.config.stash[CONTEXT]
    target = run.named
    if item.get_closest_marker("writes") and target is not None and target.is_production and not run.allow_writes:
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
    if getattr(config, "workerinput", None) is None and CONTEXT in config.stash:
        run = config.stash[CONTEXT]
        settings, target = run.settings, run.named
        # a Ctrl-C (or the gate's SIGINT) now would stop the clean-up half-way and leave records behind: it waits
        # for the clean-up (each request bounded by the target's timeouts), and the run ends as interrupted
        with interrupts_held(deliver=False) as held:
            # every worker is done (or interrupted): remove what the fuzzing suites created and did not remove yet
            removal = remove_run_records(config.stash[RUN][0], target)
            if removal is not None:
                config.stash[REMOVAL] = removal
            if target is not None and (settings.allow_writes or not target.is_production):
                # and sweep synthetic records an interrupted test could not remove
                for backend in selected_backends(config):
                    with target.client(backend) as http:
                        sweep(http)
        if held:
            config.stash[HELD_INTERRUPT] = True
            session.exitstatus = pytest.ExitCode.INTERRUPTED
        allure_report.write_environment(
            config,
            {
                "target": settings.target,
                "environment": "dev" if target is None else target.environment,
                "backends": ", ".join(selected_backends(config)),
                "writes": "allowed" if settings.allow_writes else "production-safe",
            },
        )


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if config.stash.get(HELD_INTERRUPT, False):
        terminalreporter.write_line("harness: interrupted during the end-of-run clean-up, which was finished first")
    if REMOVAL in config.stash:
        where = f" on target {config.stash[CONTEXT].target_name}"
        terminalreporter.write_line(f"harness: this run {config.stash[REMOVAL].summary(where)}")
