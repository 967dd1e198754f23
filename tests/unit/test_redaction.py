from harness.redaction import redact, redact_headers


def test_passwords_in_urls_and_dsns_are_masked() -> None:
    assert redact("postgresql://app:s3cret@db:5432/x") == "postgresql://app:***@db:5432/x"
    assert redact("host=db password=s3cret user=app") == "host=db password=*** user=app"
    assert redact("postgresql://app@db/x") == "postgresql://app@db/x"


def test_secret_headers_are_masked() -> None:
    assert redact_headers({"Authorization": "Bearer x", "Accept": "a"}) == {"Authorization": "***", "Accept": "a"}
