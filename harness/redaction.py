"""Keep secrets out of logs and reports: passwords in DSNs and URLs, and credential-bearing headers."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

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


def redact_json(value: Any) -> Any:
    """Every string of a JSON value redacted (keys included); the structure is kept."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [redact_json(v) for v in value]
    if isinstance(value, dict):
        return {redact(str(k)): redact_json(v) for k, v in value.items()}
    return value


def redact_file(path: Path) -> None:
    """Mask secrets in a file a child process wrote (a pytest log, an Allure result or attachment): a JSON file
    string by string, so its structure survives; a text file as text; anything else is left as it is. The child
    cannot be trusted to have masked them: a long traceback prints the arguments of every frame, a DSN's among
    them."""
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return
    masked = _masked_json(text) if path.suffix == ".json" else redact(text)
    if masked != text:
        path.write_text(masked, encoding="utf-8")


def _masked_json(text: str) -> str:
    """A JSON file's text with its strings redacted; unchanged where no secret was masked (the file stays as its
    writer wrote it); masked as text if it is not JSON after all."""
    try:
        data = json.loads(text)
    except ValueError:
        return redact(text)
    clean = redact_json(data)
    return text if clean == data else json.dumps(clean, ensure_ascii=False)
