"""Generic webhook channel: a JSON POST signed with HMAC-SHA256.

Headers sent:

- ``X-Marketing-Agent-Timestamp``: Unix seconds when the request was signed.
- ``X-Marketing-Agent-Signature``: ``sha256=<hex>`` of HMAC-SHA256(secret, ``<timestamp>.`` + raw body).

Signing the timestamp with the body lets a receiver refuse replays of an old request
(:func:`verify_signature` does exactly what a receiver should do; ``docs/notifications.md`` shows it in
other words).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time

import httpx

from marketing_agent.notify import _http
from marketing_agent.notify._message import ChannelAddress, Notification

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Marketing-Agent-Signature"
TIMESTAMP_HEADER = "X-Marketing-Agent-Timestamp"
DEFAULT_TOLERANCE_SECONDS = 300


def webhook_payload(message: Notification) -> dict[str, object]:
    return {
        "type": message.kind.value,
        "title": message.title,
        "body": message.body,
        "link": message.link,
        "runId": message.run_id,
        "fields": dict(message.fields),
    }


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value for this body and timestamp."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(
    secret: str,
    body: bytes,
    timestamp: str,
    signature: str,
    *,
    now: float | None = None,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """What a receiver does: recompute over the raw body, compare in constant time, refuse stale times."""
    try:
        sent_at = int(timestamp)
    except ValueError:
        return False
    current = time.time() if now is None else now
    if abs(current - sent_at) > tolerance_seconds:
        return False
    return hmac.compare_digest(sign(secret, sent_at, body), signature)


class WebhookNotifier:
    """POSTs the notification as JSON to the address; signs it when the address has a secret."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def send(self, message: Notification, address: ChannelAddress) -> None:
        body = json.dumps(webhook_payload(message), separators=(",", ":")).encode()
        timestamp = int(time.time())
        headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: str(timestamp)}
        if address.secret:
            headers[SIGNATURE_HEADER] = sign(address.secret, timestamp, body)
        else:
            # Every channel the API adds and every alert webhook has a secret; an address without one (added
            # directly through the services) is sent unsigned rather than signed with a made-up key.
            logger.warning("webhook sent unsigned: no secret", extra={"channel": address.display_name})
        response = await _http.post(self._client, "webhook", address.address, content=body, headers=headers)
        _http.raise_for_outcome("webhook", response.status_code, response.reason_phrase)
        logger.info("webhook notification sent", extra={"channel": address.display_name})
