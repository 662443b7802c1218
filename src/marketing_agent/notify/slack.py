"""Slack channel: an incoming webhook that takes ``{"text", "blocks"}``."""

from __future__ import annotations

import json
import logging

import httpx

from marketing_agent.notify import _http
from marketing_agent.notify._message import ChannelAddress, Notification

logger = logging.getLogger(__name__)

_SECTION_LIMIT = 3000  # Slack refuses a section text longer than this


def slack_payload(message: Notification) -> dict[str, object]:
    """The webhook body: ``text`` is the fallback for notifications, ``blocks`` the rich layout."""
    title = _mrkdwn_escape(message.title)
    blocks: list[dict[str, object]] = [
        {"type": "header", "text": {"type": "plain_text", "text": message.title[:150]}},
    ]
    if message.fields:
        blocks.append(
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*{_mrkdwn_escape(name)}*\n{_mrkdwn_escape(value)[:1900]}"}
                    for name, value in list(message.fields.items())[:10]
                ],
            }
        )
    if message.body.strip():
        body = _mrkdwn_escape(message.body.strip())
        if len(body) > _SECTION_LIMIT:
            body = body[: _SECTION_LIMIT - 1] + "…"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": body}})
    if message.link:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"<{message.link}|Open the full output>"}})
    text = f"{title}: {message.link}" if message.link else title
    return {"text": text, "blocks": blocks}


def _mrkdwn_escape(text: str) -> str:
    # Slack's documented escaping: only these three, so user text cannot forge links or mentions.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class SlackNotifier:
    """Posts to the incoming-webhook URL held in the address."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def send(self, message: Notification, address: ChannelAddress) -> None:
        response = await _http.post(
            self._client,
            "slack",
            address.address,
            content=json.dumps(slack_payload(message)).encode(),
            headers={"Content-Type": "application/json"},
        )
        _http.raise_for_outcome("slack", response.status_code, response.text[:200])
        logger.info("slack notification sent", extra={"channel": address.display_name})
