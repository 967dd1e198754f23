"""The validation and load-test harness for the Character Service's migration to the Storage Service."""

from .errors import ConfigError, HarnessError, StackError, TargetUnreachable

__all__ = ["ConfigError", "HarnessError", "StackError", "TargetUnreachable"]
__version__ = "0.1.0"
