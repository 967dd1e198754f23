"""The embedded default: the reference system (PostgreSQL, Storage Service, Character Service on both backends)
started by the harness itself on loopback. This is the only part of the harness that touches
``reference_system``, and only lazily, inside the functions that start it."""

from .postgres import EmbeddedPostgres, ExternalPostgres, PostgresProvider
from .stack import EmbeddedStack, StackInfo

__all__ = ["EmbeddedPostgres", "EmbeddedStack", "ExternalPostgres", "PostgresProvider", "StackInfo"]
