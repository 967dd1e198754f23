"""The Character Service contract as schemathesis sees it: always loaded from ``contracts/`` (never from what a
server claims to serve), configured by the shipped ``contracts/schemathesis.toml``, and restricted to safe methods on
a production target unless writes are allowed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import resources
from ..errors import ConfigError

CONTRACT = resources.character_service_contract()
SCHEMATHESIS_CONFIG = resources.schemathesis_config()
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def load_contract(path: Path = CONTRACT, *, negative: bool = True) -> Any:
    """The contract as a schemathesis schema: positive and (unless ``negative=False``) negative data, every
    check, the settings of ``schemathesis.toml``."""
    import schemathesis
    from schemathesis import GenerationMode
    from schemathesis.config import SchemathesisConfig

    if not path.is_file():
        raise ConfigError(f"contract {path} not found; pass the path of an existing contract file")
    config = SchemathesisConfig.from_path(SCHEMATHESIS_CONFIG) if SCHEMATHESIS_CONFIG.is_file() else None
    if config is not None:  # schemathesis writes its reports there (relative to the working directory) under
        # pytest too, but does not create it
        Path(config.reports.directory).mkdir(parents=True, exist_ok=True)
    schema = schemathesis.openapi.from_path(path, config=config)
    modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE] if negative else [GenerationMode.POSITIVE]
    schema.config.generation.update(modes=modes)
    return schema


def writes_allowed(*, production: bool, allow_writes: bool) -> bool:
    return allow_writes or not production


def restrict_to_safe_methods(schema: Any, *, production: bool, allow_writes: bool) -> Any:
    """On a production target without ``--allow-writes``, only operations that cannot change data are fuzzed."""
    if writes_allowed(production=production, allow_writes=allow_writes):
        return schema
    return schema.include(method=sorted(SAFE_METHODS))
