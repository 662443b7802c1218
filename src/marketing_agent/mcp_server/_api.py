"""The REST API as the MCP tools see it: one async client, errors turned into tool errors.

The tools never call services directly. Over HTTP (``/mcp`` on the API) they call the same app in-process
through ``httpx.ASGITransport`` with the caller's own ``Authorization`` header; over stdio
(``marketing-agent mcp``) they call a running API over the network with the configured key. Either way
every tool goes through the REST API's validation, scoping (another user's id → not found) and errors,
so the MCP surface can never do more than the API lets the same key do.
"""

from __future__ import annotations

from typing import Any

import httpx
from mcp.server.mcpserver.exceptions import ToolError

API_PREFIX = "/api/v1"
_TIMEOUT = httpx.Timeout(30.0, connect=5.0)


class MarketingApi:
    """A thin async client of ``/api/v1`` whose calls return the envelope's ``data``."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    @classmethod
    def over_network(cls, api_url: str, api_key: str) -> MarketingApi:
        return cls(
            httpx.AsyncClient(
                base_url=api_url.rstrip("/") + API_PREFIX,
                headers={"Authorization": f"Bearer {api_key}"},
                timeout=_TIMEOUT,
            )
        )

    @classmethod
    def in_process(cls, app: Any, authorization: str) -> MarketingApi:
        return cls(
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://mcp.internal" + API_PREFIX,
                headers={"Authorization": authorization},
                timeout=_TIMEOUT,
            )
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """The ``data`` of a JSON answer; raises :class:`ToolError` with the API's own message."""
        response = await self._send(method, path, **kwargs)
        return response.json().get("data")

    async def text(self, path: str) -> str:
        """A text body (output content, a client file)."""
        return (await self._send("GET", path)).text

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ToolError(f"the marketing-agent API could not be reached ({type(exc).__name__})") from exc
        if response.is_success:
            return response
        raise ToolError(_error_text(response))


def _error_text(response: httpx.Response) -> str:
    """``CODE: message`` from the API's error envelope, naming the fields that were wrong."""
    try:
        error = response.json().get("error") or {}
    except ValueError:
        return f"the API answered {response.status_code}"
    text = f"{error.get('code', response.status_code)}: {error.get('message', 'request failed')}"
    details = error.get("details")
    if isinstance(details, list) and details:  # validation problems: [{"field", "message"}]
        text += " (" + "; ".join(f"{d.get('field')}: {d.get('message')}" for d in details if isinstance(d, dict)) + ")"
    return text
