"""HTTP outcome → error family, shared by the HTTP channels (Telegram, Slack, webhook)."""

from __future__ import annotations

import httpx

from marketing_agent.errors import NotificationError, NotificationRejected
from marketing_agent.netguard import BlockedAddressError

# Statuses where the same request could succeed later; every other 4xx is final.
_RETRYABLE_4XX = frozenset({408, 409, 425, 429})


def raise_for_outcome(channel: str, status: int, reason: str) -> None:
    """Raise the right error family for a non-2xx status; do nothing for 2xx."""
    if 200 <= status < 300:
        return
    message = f"{channel} answered {status}: {reason}"
    if 400 <= status < 500 and status not in _RETRYABLE_4XX:
        raise NotificationRejected(message, details={"status": status})
    raise NotificationError(message, details={"status": status})


async def post(
    client: httpx.AsyncClient, channel: str, url: str, *, content: bytes, headers: dict[str, str]
) -> httpx.Response:
    """POST, turning transport failures into retryable errors (never with the URL: it may hold a token)."""
    try:
        return await client.post(url, content=content, headers=headers)
    except BlockedAddressError as exc:  # an internal address (netguard): final, retrying changes nothing
        raise NotificationRejected(f"{channel}: {exc.message}") from exc
    except httpx.TimeoutException as exc:
        raise NotificationError(f"{channel}: request timed out") from exc
    except httpx.HTTPError as exc:
        raise NotificationError(f"{channel}: {type(exc).__name__}") from exc
