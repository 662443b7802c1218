"""Asking the engine to cancel a function run (``POST {engine}/v1/runs/{id}/cancel``)."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from typing import Protocol

import httpx

from marketing_agent.errors import ServiceUnavailable
from marketing_agent.settings import Settings

logger = logging.getLogger(__name__)


def signing_key_hash(key: str) -> str:
    """``sha256`` of the key's hex part, as the Inngest SDK sends it (``signkey-<env>-`` prefix dropped)."""
    return hashlib.sha256(bytes.fromhex(re.sub(r"^signkey-\w+?-", "", key))).hexdigest()


class RunCanceller(Protocol):
    async def cancel(self, engine_run_id: str) -> None: ...


class EngineRunCanceller:
    def __init__(self, settings: Settings, *, timeout: float = 10.0) -> None:
        self._base = settings.engine_url
        self._timeout = timeout
        key = settings.inngest_signing_key
        # The SDK's credential: the signing key's hash, never the key itself (a log line or a proxy that
        # records headers must not be able to sign requests).
        self._headers = {"Authorization": f"Bearer {signing_key_hash(key.get_secret_value())}"} if key else {}

    async def cancel(self, engine_run_id: str) -> None:
        url = f"{self._base}/v1/runs/{engine_run_id}/cancel"
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as http:
                response = await http.post(url, headers=self._headers, json={})
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(f"engine unreachable: {exc}") from exc
        if response.status_code >= 400 and response.status_code != 404:
            raise ServiceUnavailable(f"engine refused the cancel: HTTP {response.status_code}")


@dataclass
class InMemoryRunCanceller:
    cancelled: list[str] = field(default_factory=list)

    async def cancel(self, engine_run_id: str) -> None:
        self.cancelled.append(engine_run_id)
