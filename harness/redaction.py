"""Keep secrets out of logs and reports: passwords in DSNs and URLs, and credential-bearing headers."""

from __future__ import annotations

import re

_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<password>[^@/\s]*)@")
_PASSWORD_PARAM = re.compile(r"(?i)\b(password|passwd|pwd|token|secret|api_key|apikey)=([^&\s]+)")
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"})
MASK = "***"


def redact(text: str) -> str:
    """Mask passwords in URLs/DSNs (``postgresql://u:pw@h`` -> ``postgresql://u:***@h``) and ``password=`` params."""
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@" if m["password"] else m[0], text)
    return _PASSWORD_PARAM.sub(lambda m: f"{m[1]}={MASK}", text)


def redact_headers(headers: dict[str, str]) -> dict[str, str]:
    return {k: (MASK if k.lower() in SECRET_HEADERS else v) for k, v in headers.items()}
