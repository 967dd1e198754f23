"""The harness's exceptions. Every one carries a one-line message that says what to fix; the CLI and the
pytest plugin print that line, never a traceback.

HarnessError            misuse or environment problems (the harness could not do its job)
├── ConfigError         the targets file, an option or an environment variable is wrong
├── TargetUnreachable   a URL or DSN of the target did not answer
└── StackError          the embedded default could not be started
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class HarnessError(Exception):
    """Base class: the message is one line meant for the person running the harness."""


class ConfigError(HarnessError):
    pass


class TargetUnreachable(HarnessError):
    pass


class StackError(HarnessError):
    pass


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the choice ``word`` most likely meant (one it begins, else a close
    spelling), or ``""``: the hint every unknown-key and unknown-name message appends."""
    choices = list(choices)
    prefixed = [c for c in choices if word and c.startswith(word)]
    close = prefixed[:1] or difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""
