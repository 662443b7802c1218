"""The redaction filter: secrets by value and by shape, in messages, arguments, tracebacks and extras."""

from __future__ import annotations

import logging

import pytest
from pydantic import SecretStr

from marketing_agent.logs import REDACTED, install_redaction, settings_secrets
from marketing_agent.settings import load_settings

BOT = "7012345678:AAH-unit_Zx9Yw8Vu7Ts6Rq5Po4Nm3"


def test_records_from_any_logger_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    install_redaction(["operator-secret-value"])
    log = logging.getLogger("marketing_agent.somewhere.deep")
    with caplog.at_level(logging.INFO):
        log.info("HTTP Request: POST %s", 'http://127.0.0.1:8288/e/evtkey-123456789 "200 OK"')
        log.info("GET https://api.telegram.org/bot%s/getUpdates", BOT)
        log.warning("sent", extra={"channel": "https://hooks.slack.com/services/T1/B2/abcdef"})
        log.info("key %s and %s", "operator-secret-value", "mak_" + "A" * 40)
        try:
            raise RuntimeError("smtp://mailer:pa55word@mail.example:25 refused")
        except RuntimeError:
            log.exception("delivery failed")
    text = "\n".join(r.getMessage() + (r.exc_text or "") + str(getattr(r, "channel", "")) for r in caplog.records)
    for leaked in ("evtkey-123456789", BOT, "hooks.slack.com", "operator-secret-value", "mak_AAAA", "pa55word"):
        assert leaked not in text, leaked
    assert text.count(REDACTED) >= 6


def test_settings_secrets_include_the_signing_key_hash() -> None:
    hex_part = "ab" * 32
    settings = load_settings(inngest_signing_key=SecretStr(f"signkey-prod-{hex_part}"), telegram_bot_token=BOT)
    found = settings_secrets(settings)
    assert hex_part in found
    assert BOT in found
    assert any(len(s) == 64 and s != hex_part for s in found)  # sha256 of the key: the bearer form
