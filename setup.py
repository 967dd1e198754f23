"""Only what pyproject.toml cannot say: two packages whose directories are not named after them. ``contracts/``
and ``locustfiles/`` stay top-level in the source tree (users and the schemathesis CLI find them there) and are
installed as ``service_contracts`` and ``harness.locustfiles``, so a wheel carries them as package data."""

from setuptools import find_packages, setup

setup(
    packages=[
        *find_packages(include=["harness", "harness.*", "reference_system", "reference_system.*"]),
        "service_contracts",
        "harness.locustfiles",
        # the suites `harness gate` runs, so an installed harness can gate a target without a checkout
        "harness.suites",
        *(f"harness.suites.{name}" for name in find_packages(where="suites")),
    ],
    package_dir={"service_contracts": "contracts", "harness.locustfiles": "locustfiles", "harness.suites": "suites"},
)
