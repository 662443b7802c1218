"""``POST /api/v1/webhooks/telegram``: updates pushed by Telegram in webhook mode.

Telegram sends the secret given to ``setWebhook`` in ``X-Telegram-Bot-Api-Secret-Token``; anything
without the right one is answered 401 and never reaches the bot. With no ``TELEGRAM_WEBHOOK_SECRET``
configured every request is refused: an open endpoint would let anyone impersonate any chat.
"""

from __future__ import annotations

import hmac
import json
import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from marketing_agent.bot.service import BotService

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_PATH = "/api/v1/webhooks/telegram"
MAX_BODY = 1024 * 1024  # the API's body limit; a Telegram update is far smaller


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"success": False, "error": {"code": code, "message": message}}, status_code=status)


def create_telegram_webhook_router(bot_service: BotService, *, path: str = WEBHOOK_PATH) -> APIRouter:
    """A router with the webhook route at ``path`` (include it without a prefix)."""
    router = APIRouter(tags=["webhooks"])

    @router.post(path, include_in_schema=False)
    async def telegram_webhook(request: Request) -> JSONResponse:
        expected = bot_service.webhook_secret
        given = request.headers.get(SECRET_HEADER)
        if not expected:
            logger.error("telegram webhook called but TELEGRAM_WEBHOOK_SECRET is not set; refused")
            return _error(401, "UNAUTHORIZED", "webhook secret not configured")
        # Constant-time comparison: response timing must not reveal how much of a guess was right.
        if given is None or not hmac.compare_digest(given.encode(), expected.encode()):
            logger.warning("telegram webhook refused: wrong or missing secret token")
            return _error(401, "UNAUTHORIZED", "wrong or missing secret token")
        body = await request.body()
        if len(body) > MAX_BODY:
            return _error(413, "PAYLOAD_TOO_LARGE", "update too large")
        try:
            payload = json.loads(body)
        except ValueError:
            return _error(400, "VALIDATION_ERROR", "body is not JSON")
        if not isinstance(payload, dict) or not isinstance(payload.get("update_id"), int):
            return _error(400, "VALIDATION_ERROR", "body is not a Telegram update")
        # Handler failures are caught and logged by the bot's error handler; answering 200 stops
        # Telegram from redelivering an update that would fail the same way again.
        await bot_service.process_update(payload)
        return JSONResponse({"ok": True})

    return router
