"""The harness's exceptions. Every one carries a one-line message that says what to fix; the CLI and the
pytest plugin print that line, never a traceback.

HarnessError            misuse or environment problems (the harness could not do its job)
├── ConfigError         the targets file, an option or an environment variable is wrong
├── TargetUnreachable   a URL or DSN of the target did not answer
└── StackError          the embedded default could not be started
"""

from __future__ import annotations


class HarnessError(Exception):
    """Base class: the message is one line meant for the person running the harness."""


class ConfigError(HarnessError):
    pass


class TargetUnreachable(HarnessError):
    pass


class StackError(HarnessError):
    pass
