"""What the plugin keeps on ``config.stash`` (and an item's stash) for one run, shared by hooks and fixtures."""

from __future__ import annotations

import pytest

from ..config.run import RunContext
from ..created_records import Removal
from ..fuzz.profiles import FuzzProfile
from .exchanges import ExchangeLog

CONTEXT = pytest.StashKey[RunContext]()  # targets file, settings and target: the run resolved once, at configure
RUN = pytest.StashKey[tuple[str, int]]()  # xdist's testrunuid (ours without xdist), the pid owning the run
EXCHANGES = pytest.StashKey[ExchangeLog]()  # an item's recorded HTTP exchanges, attached when it fails
PROFILE = pytest.StashKey[FuzzProfile]()  # the fuzz profile, when the run fuzzes
HELD_INTERRUPT = pytest.StashKey[bool]()  # a Ctrl-C that waited for the end-of-run clean-up
REMOVAL = pytest.StashKey[Removal]()  # what the run's ledger of created records held, and what was removed
