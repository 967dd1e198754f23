"""Domain errors shared by both repositories; the app maps each to one HTTP status."""

from __future__ import annotations


class RepositoryError(Exception):
    pass


class NotFound(RepositoryError):
    pass


class VersionMismatch(RepositoryError):
    """The expected version is not the current one."""

    def __init__(self, current: int) -> None:
        super().__init__(f"current version is {current}")
        self.current = current


class CampaignNotFound(RepositoryError):
    """A character names a campaign that does not exist."""


class CampaignHasMembers(RepositoryError):
    def __init__(self, count: int) -> None:
        super().__init__(f"campaign still has {count} character(s)")
        self.count = count


class Unavailable(RepositoryError):
    """The backing store (PostgreSQL or the Storage Service) cannot be reached."""
