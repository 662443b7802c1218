from __future__ import annotations

import hashlib
import hmac

from marketing_agent.notify import Notification, NotificationKind
from marketing_agent.notify.webhook import sign, verify_signature, webhook_payload


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    body = b'{"type":"run_completed"}'
    expected = hmac.new(b"s3cret", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert sign("s3cret", 1_700_000_000, body) == f"sha256={expected}"


def test_verify_accepts_a_fresh_signature_and_refuses_tampering() -> None:
    body = b'{"a":1}'
    signature = sign("k", 1000, body)
    assert verify_signature("k", body, "1000", signature, now=1010)
    assert not verify_signature("k", b'{"a":2}', "1000", signature, now=1010)
    assert not verify_signature("other", body, "1000", signature, now=1010)
    assert not verify_signature("k", body, "1001", signature, now=1010)


def test_verify_refuses_stale_or_malformed_timestamps() -> None:
    body = b"{}"
    signature = sign("k", 1000, body)
    assert not verify_signature("k", body, "1000", signature, now=1000 + 301)
    assert not verify_signature("k", body, "soon", signature, now=1000)


def test_payload_uses_camel_case_run_id() -> None:
    message = Notification(kind=NotificationKind.RUN_FAILED, title="t", body="b", run_id="r1")
    assert webhook_payload(message) == {
        "type": "run_failed",
        "title": "t",
        "body": "b",
        "link": None,
        "runId": "r1",
        "fields": {},
    }
