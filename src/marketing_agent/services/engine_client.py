"""Asking the engine to cancel a function run (``POST {engine}/v1/runs/{id}/cancel``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Protocol

import httpx

from marketing_agent.errors import ServiceUnavailable
from marketing_agent.settings import Settings

logger = logging.getLogger(__name__)


class RunCanceller(Protocol):
    async def cancel(self, engine_run_id: str) -> None: ...


class EngineRunCanceller:
    def __init__(self, settings: Settings, *, timeout: float = 10.0) -> None:
        self._base = settings.engine_url
        self._timeout = timeout
        key = settings.inngest_signing_key
        self._headers = {"Authorization": f"Bearer {key.get_secret_value()}"} if key else {}

    async def cancel(self, engine_run_id: str) -> None:
        url = f"{self._base}/v1/runs/{engine_run_id}/cancel"
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as http:
                response = await http.post(url, headers=self._headers)
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(f"engine unreachable: {exc}") from exc
        if response.status_code >= 400 and response.status_code != 404:
            raise ServiceUnavailable(f"engine refused the cancel: HTTP {response.status_code}")


@dataclass
class InMemoryRunCanceller:
    cancelled: list[str] = field(default_factory=list)

    async def cancel(self, engine_run_id: str) -> None:
        self.cancelled.append(engine_run_id)
