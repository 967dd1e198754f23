from __future__ import annotations

import pytest

from harness.config import Target


@pytest.fixture(scope="session")
def target(pristine_target: Target) -> Target:
    """This suite holds the backends' data against each other: on ``local`` it reads a stack no test writes to."""
    return pristine_target
