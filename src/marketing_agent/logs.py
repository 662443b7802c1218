"""Logging set-up for every entry point, and the one filter that keeps secrets out of log lines.

Secrets reach logs in ways no single call site controls: httpx's INFO line names the URL (``/e/<event
key>``, a Slack webhook), an exception's text repeats a URL with its token, a library logs a header. So:

* httpx and httpcore log at WARNING only (their INFO line is one request URL each);
* uvicorn's access log is off unless ``ACCESS_LOG`` asks for it (``cli.py``);
* :class:`SecretRedactor` rewrites every record — message, arguments, formatted traceback and string
  ``extra`` fields — replacing each configured secret (every ``SecretStr`` setting, the signing key's
  hex part and its hash, which is a bearer credential) and anything shaped like one (``/e/<key>`` paths,
  ``signkey-…``, ``mak_…`` API keys, Telegram bot tokens, Slack/Discord webhook URLs, URL passwords).

The filter is installed as the root logger's filter **and** wrapped around the log-record factory: a
logger's filter only sees records logged to that logger, not those propagated from ``marketing_agent.x``
or ``httpx``, and handlers added later (pytest's, the step-log shipper) carry no filter of ours. Running it
at record creation covers every handler. It is idempotent: installing again only adds secrets.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import SecretStr

from marketing_agent.settings import Settings

REDACTED = "[redacted]"
_PATTERNS = (
    re.compile(r"(?<=/e/)[^/?#\s\"']+"),  # the event API path carries the event key
    re.compile(r"signkey-\w+?-[0-9a-fA-F]+"),
    re.compile(r"\bmak_[A-Za-z0-9_\-]{16,}"),  # user API keys (services/users.py)
    re.compile(r"\b\d{5,}:[A-Za-z0-9_\-]{30,}"),  # Telegram bot tokens (also inside /bot<token>/ URLs)
    re.compile(r"https://hooks\.slack\.com/[^\s\"']+"),
    re.compile(r"https://(?:discord(?:app)?\.com)/api/webhooks/[^\s\"']+"),
    re.compile(r"(?<=://)[^/\s:@\"']+:[^/\s@\"']+(?=@)"),  # user:password@ in URLs (SMTP_URL, DATABASE_URL)
)
_STANDARD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class SecretRedactor(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()

    def add(self, values: Iterable[str]) -> None:
        # Short values would redact ordinary words; a secret that short is not worth the noise it would make.
        self._secrets.update(v for v in values if len(v) >= 8)

    def redact(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, REDACTED)
        for pattern in _PATTERNS:
            text = pattern.sub(REDACTED, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        # Message and arguments one by one, so formatters that read ``record.args`` (uvicorn's access log)
        # keep working; only a secret inside a non-string argument collapses the record to its text.
        if isinstance(record.msg, str):
            record.msg = self.redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(self.redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, Mapping):
            record.args = {k: self.redact(v) if isinstance(v, str) else v for k, v in record.args.items()}
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a bad format string: leave it to the handler to report
            return True
        clean = self.redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        for name, value in list(record.__dict__.items()):
            if name not in _STANDARD_ATTRS and isinstance(value, str):
                setattr(record, name, self.redact(value))
        return True


_REDACTOR = SecretRedactor()
_factory_wrapped = False


def settings_secrets(settings: Settings) -> list[str]:
    """Every secret a settings object holds, in the forms it may appear in."""
    out: list[str] = []
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr) and value.get_secret_value().strip():
            out.append(value.get_secret_value().strip())
    key = settings.inngest_signing_key.get_secret_value() if settings.inngest_signing_key else ""
    hex_part = re.sub(r"^signkey-\w+?-", "", key)
    if hex_part:
        out.append(hex_part)
        with contextlib.suppress(ValueError):  # not hex: the engine refuses such a key anyway
            out.append(hashlib.sha256(bytes.fromhex(hex_part)).hexdigest())  # the bearer form (engine_client.py)
    return out


def install_redaction(secrets: Iterable[str] = ()) -> SecretRedactor:
    """Redact ``secrets`` (and secret-shaped text) from every log record created from now on."""
    global _factory_wrapped
    _REDACTOR.add(secrets)
    root = logging.getLogger()
    for target in (root, *root.handlers):  # handlers see ``extra`` fields, which are set after the factory ran
        if _REDACTOR not in target.filters:
            target.addFilter(_REDACTOR)
    if not _factory_wrapped:
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            _REDACTOR.filter(record)
            return record

        logging.setLogRecordFactory(factory)
        _factory_wrapped = True
    return _REDACTOR


def setup_logging(settings: Settings | None = None, level: str = "INFO") -> None:
    """What every entry point calls first: format, quiet chatty libraries, redaction of ``settings``' secrets."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its per-plugin INFO lines bury the URLs
    # One INFO line per request, URL included (/e/<key>, webhook URLs); httpx2 is what the Anthropic SDK uses.
    for name in ("httpx", "httpcore", "httpx2", "httpcore2"):
        logging.getLogger(name).setLevel(logging.WARNING)
    install_redaction(settings_secrets(settings) if settings is not None else ())
