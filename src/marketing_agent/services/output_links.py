"""Links to an output that open in a browser: signed, expiring, revocable.

A notification (Slack, e-mail, Telegram, a webhook) is read where there is no API key to send, so its link
carries its own proof: ``/api/v1/outputs/{id}/content?expires=<unix seconds>&signature=<hex>``, where the
signature is HMAC-SHA256 over ``"<output id>.<expires>"``. It opens that one output until ``expires``
(``OUTPUT_LINK_TTL`` after it was made, 7 days by default) and never anything else.

The key is ``OUTPUT_LINK_KEY``; without it, one derived from ``INNGEST_SIGNING_KEY``; without that (dev),
a random key kept in ``DATA_DIR/output-link.key``. Rotating the key revokes every link made with the old
one. We sign our own links for S3 storage too, rather than hand out S3 presigned URLs: those cannot be
revoked short of rotating the bucket's credentials, and SigV4 caps them at 7 days anyway.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
import uuid
from urllib.parse import urlencode

from marketing_agent.settings import Settings

_KEY_FILE = "output-link.key"
_DERIVE_LABEL = b"marketing-agent output links v1"


def _key(settings: Settings) -> bytes:
    if settings.output_link_key is not None and settings.output_link_key.get_secret_value().strip():
        return settings.output_link_key.get_secret_value().strip().encode()
    if settings.inngest_signing_key is not None and settings.inngest_signing_key.get_secret_value().strip():
        signing = settings.inngest_signing_key.get_secret_value().strip().encode()
        return hmac.new(signing, _DERIVE_LABEL, hashlib.sha256).digest()
    path = settings.data_dir / _KEY_FILE
    if not path.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # O_EXCL: two starts agree on one key
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def _signature(key: bytes, output_id: str, expires: int) -> str:
    return hmac.new(key, f"{output_id}.{expires}".encode(), hashlib.sha256).hexdigest()


def output_link(settings: Settings, output_id: uuid.UUID | str, *, now: float | None = None) -> str:
    """The signed link to an output's content, valid ``OUTPUT_LINK_TTL`` seconds from ``now``."""
    expires = int(time.time() if now is None else now) + settings.output_link_ttl
    query = urlencode({"expires": expires, "signature": _signature(_key(settings), str(output_id), expires)})
    return f"{settings.api_url}/api/v1/outputs/{output_id}/content?{query}"


def output_link_valid(
    settings: Settings, output_id: uuid.UUID | str, expires: int, signature: str, *, now: float | None = None
) -> bool:
    """True when ``signature`` is this server's for this output and ``expires`` has not passed."""
    if expires < (time.time() if now is None else now):
        return False
    # Bytes, not str: compare_digest refuses non-ASCII text with a TypeError, and a link is user input.
    expected = _signature(_key(settings), str(output_id), expires).encode()
    return hmac.compare_digest(expected, signature.encode("utf-8", "surrogatepass"))
