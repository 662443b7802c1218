"""Keep the bot token out of logs.

The Bot API puts the token in the URL path (``/bot<token>/sendMessage``), and httpx logs every request
URL at INFO while python-telegram-bot logs its base URL at DEBUG. This filter rewrites such records
before any handler sees them.
"""

from __future__ import annotations

import logging
import re

_TOKEN = re.compile(r"/bot\d+:[A-Za-z0-9_-]+")
_LOGGERS = ("httpx", "httpcore", "telegram")


class BotTokenRedactor(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/bot" in message:
            redacted = _TOKEN.sub("/bot<redacted>", message)
            if redacted != message:
                record.msg, record.args = redacted, ()
        return True


_REDACTOR = BotTokenRedactor()


def install_token_redaction() -> None:
    """Attach the filter to httpx's and python-telegram-bot's loggers (idempotent).

    Logger filters only see records created by that very logger, not its children, so every existing
    ``telegram.*`` logger gets it; call this after python-telegram-bot is imported.
    """
    names = set(_LOGGERS) | {
        name for name in logging.Logger.manager.loggerDict if name.startswith(("telegram.", "httpx."))
    }
    for name in names:
        logger = logging.getLogger(name)
        if _REDACTOR not in logger.filters:
            logger.addFilter(_REDACTOR)
