"""Keep secrets out of logs and reports: passwords in DSNs and URLs, and credential-bearing headers."""

from __future__ import annotations

import re

# The password runs to the last "@" before the host part: an unencoded "@" in a password is common in DSNs typed
# by hand, and libpq (like most URL parsers) splits the authority at its last "@". A "/" ends the authority.
_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<password>[^/\s]*)@")
# libpq's keyword form allows spaces around "=" and single-quoted values with \' and \\ escapes
# ("password='sp ace'"); an unterminated quote runs to the end of the line. Query parameters end at "&".
_PASSWORD_PARAM = re.compile(
    r"(?im)\b(?P<name>password|passwd|pwd|token|secret|api_key|apikey)(?P<sep>\s*=\s*)"
    r"(?P<value>'(?:[^'\\\n]|\\.)*(?:'|\\?$)|[^&\s']+)"
)
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"})
MASK = "***"


def redact(text: str) -> str:
    """Mask passwords in URLs/DSNs (``postgresql://u:pw@h`` -> ``postgresql://u:***@h``) and ``password=`` params."""
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@" if m["password"] else m[0], text)
    return _PASSWORD_PARAM.sub(lambda m: f"{m['name']}{m['sep']}{MASK}", text)


def redact_headers(headers: dict[str, str]) -> dict[str, str]:
    return {k: (MASK if k.lower() in SECRET_HEADERS else v) for k, v in headers.items()}
