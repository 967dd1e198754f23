import json
from pathlib import Path

from harness.redaction import redact, redact_headers


def test_passwords_in_urls_and_dsns_are_masked() -> None:
    assert redact("postgresql://app:s3cret@db:5432/x") == "postgresql://app:***@db:5432/x"
    assert redact("host=db password=s3cret user=app") == "host=db password=*** user=app"
    assert redact("postgresql://app@db/x") == "postgresql://app@db/x"


def test_secret_headers_are_masked() -> None:
    assert redact_headers({"Authorization": "Bearer x", "Accept": "a"}) == {"Authorization": "***", "Accept": "a"}


def test_keyword_passwords_with_spaces_around_the_equals_sign_are_masked() -> None:
    """libpq allows ``password = value``."""
    dsn = "host=127.0.0.1 port=5439 password = spWORD7 user=postgres"
    assert redact(dsn) == "host=127.0.0.1 port=5439 password = *** user=postgres"


def test_quoted_keyword_passwords_are_masked_whole() -> None:
    """libpq's single-quoted values, with ``\\'`` and ``\\\\`` escapes inside."""
    assert redact("host=db password='sp ace WORD3' user=app") == "host=db password=*** user=app"
    assert redact(r"password='it\'s WORD4\\' user=app") == "password=*** user=app"
    assert redact("user=app password='unterminated WORD5") == "user=app password=***"
    assert redact("password='open WORD6\nnext line") == "password=***\nnext line"


def test_a_url_password_with_an_unencoded_at_sign_is_masked_up_to_the_host() -> None:
    url = "postgresql://postgres:pa@ssWORD2@127.0.0.1/db"
    assert redact(url) == "postgresql://postgres:***@127.0.0.1/db"
    assert (
        redact("x postgresql://u:a@b@h:5432/db?sslmode=require y") == "x postgresql://u:***@h:5432/db?sslmode=require y"
    )
    assert redact("postgresql://u@h/db?x=a@b") == "postgresql://u@h/db?x=a@b"  # an "@" after the path: no password


def test_files_a_child_wrote_are_masked_and_keep_their_form(tmp_path: Path) -> None:
    from harness.redaction import redact_file

    result = tmp_path / "abc-result.json"
    trace = "conninfo = 'user=harness_reader password=URLPW555 host=127.0.0.1'"
    result.write_text(json.dumps({"name": "t", "statusDetails": {"trace": trace}, "steps": [{"n": "pw=x"}]}))
    log = tmp_path / "pytest-preflight.log"
    log.write_text(f"E   {trace}\nok\n")
    binary = tmp_path / "shot.png"
    binary.write_bytes(b"\x89PNG\xff password=URLPW555")
    for path in (result, log, binary):
        redact_file(path)
    doc = json.loads(result.read_text())  # still JSON, the secret gone
    assert "URLPW555" not in result.read_text() and doc["statusDetails"]["trace"].count("***") == 1
    assert doc["steps"] == [{"n": "pw=x"}]
    assert "URLPW555" not in log.read_text() and log.read_text().endswith("ok\n")
    assert binary.read_bytes() == b"\x89PNG\xff password=URLPW555"  # not text: left as it is
