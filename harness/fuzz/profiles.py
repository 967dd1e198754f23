"""Hypothesis profiles for the fuzzing suites: ``ci`` (fast, derandomised: the same code gives the same verdict)
and ``nightly`` (deep, a fresh seed each run). Chosen by ``--hypothesis-profile`` or ``HARNESS_FUZZ_PROFILE``
(default ``ci``); ``HARNESS_FUZZ_SEED`` pins the seed of a run so a failure seen once can be replayed."""

from __future__ import annotations

import os
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, Phase, settings

from ..errors import ConfigError

PROFILE_ENV = "HARNESS_FUZZ_PROFILE"
SEED_ENV = "HARNESS_FUZZ_SEED"
DEFAULT_PROFILE = "ci"
CI_SEED = 20261125  # the ci profile's fixed seed for the differential machine (schemathesis derives one per test)

_SLOW_OK = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large]
# No example database: a rollout gate must not depend on what failed earlier on this machine.
_COMMON = settings(deadline=None, database=None, print_blob=True, suppress_health_check=_SLOW_OK)
PROFILES: dict[str, settings] = {
    "ci": settings(
        _COMMON,
        max_examples=25,
        stateful_step_count=12,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
    ),
    "nightly": settings(_COMMON, max_examples=300, stateful_step_count=40, derandomize=False),
}


@dataclass(frozen=True)
class FuzzProfile:
    name: str
    settings: settings
    seed: int
    origin: str  # where the profile name came from, for the report header

    def describe(self) -> str:
        how = "derandomised" if self.settings.derandomize else "randomised"
        return (
            f"fuzz profile {self.name} ({how}, {self.settings.max_examples} examples, from {self.origin}); "
            f"seed {self.seed} (replay with {SEED_ENV}={self.seed})"
            + ("; schemathesis tests derive theirs from the test" if self.settings.derandomize else "")
        )


def register_profiles() -> None:
    """Register ``ci`` and ``nightly`` with hypothesis (idempotent; overrides hypothesis' own ``ci``)."""
    for name, profile in PROFILES.items():
        settings.register_profile(name, profile)


def select_profile(option: str | None = None, env: Mapping[str, str] | None = None) -> FuzzProfile:
    """The profile: ``option`` (``--hypothesis-profile``) > ``HARNESS_FUZZ_PROFILE`` > ``ci``; the seed:
    ``HARNESS_FUZZ_SEED`` > the ci profile's fixed seed > a fresh random one (nightly)."""
    env = os.environ if env is None else env
    if option:
        name, origin = option, "--hypothesis-profile"
    elif env.get(PROFILE_ENV):
        name, origin = env[PROFILE_ENV].strip(), PROFILE_ENV
    else:
        name, origin = DEFAULT_PROFILE, "default"
    if name not in PROFILES:
        raise ConfigError(f"{origin}: unknown fuzz profile {name!r}; use one of {', '.join(PROFILES)}")
    profile = PROFILES[name]
    raw_seed = env.get(SEED_ENV, "").strip()
    if raw_seed:
        try:
            seed = int(raw_seed)
        except ValueError:
            raise ConfigError(f"{SEED_ENV}={raw_seed!r}: use an integer") from None
    elif profile.derandomize:
        seed = CI_SEED
    else:
        seed = random.SystemRandom().randrange(2**32)
    return FuzzProfile(name=name, settings=profile, seed=seed, origin=origin)


def configure_pytest(config: Any) -> FuzzProfile:
    """For the fuzzing suites' conftest: register the profiles, load the chosen one unless hypothesis'
    ``--hypothesis-profile`` already did, and keep it on the config for the report header and fixtures."""
    register_profiles()
    option = config.getoption("hypothesis_profile", default=None)
    profile = select_profile(option)
    if option is None:
        settings.load_profile(profile.name)
    if not profile.settings.derandomize and config.getoption("hypothesis_seed", default=None) is None:
        # the seed the header prints is the one every test uses (what --hypothesis-seed does)
        from hypothesis import core

        core.global_force_seed = profile.seed  # type: ignore[assignment]  # typed None in hypothesis
    return profile
