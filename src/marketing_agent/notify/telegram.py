"""Telegram channel: Bot API ``sendMessage`` in HTML parse mode over httpx."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping

import httpx

from marketing_agent.errors import NotificationError, NotificationRejected
from marketing_agent.notify import _http
from marketing_agent.notify._message import ChannelAddress, Notification
from marketing_agent.notify.redact import install_token_redaction
from marketing_agent.notify.telegram_format import render_notification_html

logger = logging.getLogger(__name__)


class TelegramNotifier:
    """Sends to a chat id through ``{api_base_url}/bot{token}/sendMessage``."""

    def __init__(self, client: httpx.AsyncClient, *, token: str, api_base_url: str) -> None:
        self._client = client
        self._token = token
        self._origin = api_base_url.rstrip("/")
        install_token_redaction()

    async def send(self, message: Notification, address: ChannelAddress) -> None:
        payload: dict[str, object] = {
            "chat_id": address.address,
            "text": render_notification_html(message),
            "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": True},
        }
        if message.actions:
            payload["reply_markup"] = {
                "inline_keyboard": [[{"text": a.label, "callback_data": a.data} for a in message.actions]]
            }
        await self.call("sendMessage", payload)
        logger.info("telegram notification sent", extra={"chat_id": address.address})

    async def call(self, method: str, payload: Mapping[str, object]) -> object:
        """Call one Bot API method and return its ``result``; errors classified by ``error_code``."""
        url = f"{self._origin}/bot{self._token}/{method}"
        response = await _http.post(
            self._client,
            "telegram",
            url,
            content=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            _http.raise_for_outcome("telegram", response.status_code, "not a Bot API answer")
            raise NotificationError(f"telegram answered {response.status_code} without a JSON body")
        if body.get("ok") is True:
            return body.get("result")
        status = int(body.get("error_code") or response.status_code)
        description = str(body.get("description") or "no description")
        if status == 429:
            # Telegram says how long to wait; the engine's retry can honour it.
            parameters = body.get("parameters") or {}
            retry_after = parameters.get("retry_after") if isinstance(parameters, dict) else None
            raise NotificationError(
                f"telegram answered 429: {description}", details={"status": 429, "retry_after": retry_after}
            )
        if status == 401:
            # A wrong token is a configuration error: no amount of retrying fixes it.
            raise NotificationRejected("telegram rejected the bot token (401 Unauthorized)")
        _http.raise_for_outcome("telegram", status, description)
        raise NotificationError(f"telegram answered {status}: {description}")
