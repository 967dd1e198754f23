"""The harness's pytest plugin (registered through the ``pytest11`` entry point): targets, backends and shared
fixtures for every suite under ``suites/``, production safety, and Allure results.

Options: ``--target NAME``, ``--backend legacy|storage|both``, ``--allow-writes``; each also from ``HARNESS_*``
and the targets file, with the precedence option > environment > file > default.

Laid out as pytest plugins usually are: ``hooks`` (the hook implementations), ``fixtures``, ``keys`` (what a
run keeps on ``config.stash``), ``suites`` (the one table of suites); pytest finds hooks and fixtures by name
on this module, so both are imported here.
"""

from __future__ import annotations

from .fixtures import (
    backend_clients,
    client,
    created_records,
    fuzz_profile,
    harness_settings,
    local_stack,
    pristine_target,
    seeded,
    synthetic,
    target,
)
from .hooks import (
    pytest_addoption,
    pytest_collection_modifyitems,
    pytest_configure,
    pytest_generate_tests,
    pytest_report_header,
    pytest_runtest_makereport,
    pytest_runtest_setup,
    pytest_sessionfinish,
    pytest_terminal_summary,
    pytest_unconfigure,
    selected_backends,
)
from .keys import CONTEXT, EXCHANGES, PROFILE, REMOVAL, RUN
from .suites import SUITES

__all__ = [
    "CONTEXT",
    "EXCHANGES",
    "PROFILE",
    "REMOVAL",
    "RUN",
    "SUITES",
    "backend_clients",
    "client",
    "created_records",
    "fuzz_profile",
    "harness_settings",
    "local_stack",
    "pristine_target",
    "pytest_addoption",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_generate_tests",
    "pytest_report_header",
    "pytest_runtest_makereport",
    "pytest_runtest_setup",
    "pytest_sessionfinish",
    "pytest_terminal_summary",
    "pytest_unconfigure",
    "seeded",
    "selected_backends",
    "synthetic",
    "target",
]
