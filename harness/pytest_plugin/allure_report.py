"""Allure results for every run: written to ``reports/allure-results`` unless ``--alluredir`` says otherwise
(``HARNESS_ALLURE=0`` turns it off), labels from the suite layout, the HTTP exchange of a failing test attached,
and ``environment.properties`` written once per run (by the xdist controller, never by a worker)."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shutil
from pathlib import Path

import pytest

from .suites import SUITES

PARENT_SUITE_ENV = "HARNESS_ALLURE_PARENT_SUITE"


def _enabled(config: pytest.Config) -> bool:
    return config.pluginmanager.hasplugin("allure_pytest") and os.environ.get("HARNESS_ALLURE", "1") != "0"


IN_USE_PREFIX = ".in-use-by-"  # + the pid of a run writing into the default results directory


def configure(config: pytest.Config) -> None:
    """Default the results directory; runs before allure-pytest's own configure (tryfirst)."""
    if not _enabled(config) or getattr(config.option, "allure_report_dir", None):
        return
    results = _default_results(config)
    controller = getattr(config, "workerinput", None) is None
    # a fresh directory per run; cleaned here rather than with --clean-alluredir, which races under xdist; not
    # while another run of this checkout writes into it (its tests failed on the files taken away): then both
    # runs' results share it
    if controller and not _runs_writing(results):
        shutil.rmtree(results, ignore_errors=True)
    results.mkdir(parents=True, exist_ok=True)
    if controller:
        (results / f"{IN_USE_PREFIX}{os.getpid()}").touch()
    config.option.allure_report_dir = str(results)


def unconfigure(config: pytest.Config) -> None:
    """The run no longer writes into the default results directory."""
    if getattr(config, "workerinput", None) is None:
        (_default_results(config) / f"{IN_USE_PREFIX}{os.getpid()}").unlink(missing_ok=True)


def _default_results(config: pytest.Config) -> Path:
    return Path(config.rootpath) / "reports" / "allure-results"


def _runs_writing(results: Path) -> list[int]:
    """The pids of other live runs that marked ``results`` as theirs (a killed run's mark is stale)."""
    alive = []
    for mark in results.glob(f"{IN_USE_PREFIX}*"):
        try:
            pid = int(mark.name.removeprefix(IN_USE_PREFIX))
            os.kill(pid, 0)
        except (ValueError, ProcessLookupError):
            continue
        except PermissionError:  # alive, another user's
            pass
        if pid != os.getpid():
            alive.append(pid)
    return alive


def label(item: pytest.Item, suite: str | None) -> None:
    """Allure labels of an item of ``suite`` (``None``: not in a suite, no labels)."""
    if suite is None:
        return

    known = SUITES.get(suite)
    if known is not None:  # the registered suite markers, so `-m smoke` selects a suite
        item.add_marker(getattr(pytest.mark, suite))
    if not item.config.pluginmanager.hasplugin("allure_pytest"):
        return  # `-p no:allure_pytest`: its label markers would be unknown to --strict-markers
    import allure

    names = {m.kwargs.get("label_type") for m in item.iter_markers("allure_label")}
    module = Path(str(item.path)).stem.removeprefix("test_")
    phase = os.environ.get(PARENT_SUITE_ENV)
    if phase:  # run by `harness gate`: one Allure report of the whole gate, a parent suite per phase
        item.add_marker(allure.parent_suite(phase))
        item.add_marker(allure.suite(suite))
        item.add_marker(allure.sub_suite(module))
    else:
        item.add_marker(allure.parent_suite(suite))
        if "suite" not in names:
            item.add_marker(allure.suite(module))
    if "feature" not in names:
        item.add_marker(allure.feature(known.feature if known else suite))
    if "story" not in names:
        doc = (getattr(getattr(item, "module", None), "__doc__", None) or "").strip().splitlines()
        item.add_marker(allure.story(doc[0].rstrip(".") if doc else Path(str(item.path)).stem))
    if "severity" not in names:
        item.add_marker(allure.severity(known.severity if known else "normal"))


def attach_exchanges(text: str) -> None:
    import allure

    allure.attach(text, name="HTTP exchanges (secrets masked)", attachment_type=allure.attachment_type.JSON)


def write_environment(config: pytest.Config, values: dict[str, str]) -> None:
    results = getattr(config.option, "allure_report_dir", None)
    if not _enabled(config) or not results:
        return

    def version(dist: str) -> str:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    lines = {
        **values,
        "python": platform.python_version(),
        "harness": version("storage-migration-harness"),
        "pytest": version("pytest"),
        "schemathesis": version("schemathesis"),
        "locust": version("locust"),
    }
    Path(results).mkdir(parents=True, exist_ok=True)
    (Path(results) / "environment.properties").write_text("".join(f"{k}={v}\n" for k, v in lines.items()))
