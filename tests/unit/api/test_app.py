"""App-level behaviour that needs no database rows: OpenAPI, the error mapping, the body limit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from marketing_agent import errors
from marketing_agent.api import create_api_app
from marketing_agent.api.errors import status_of
from marketing_agent.services import Database, InMemoryEventSender, InMemoryRunCanceller
from marketing_agent.settings import load_settings
from marketing_agent.storage import MemoryObjectStore
from support.net import free_port


@pytest.fixture
async def http(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    database = Database(f"sqlite:///{tmp_path / 'unmigrated.db'}")
    app = create_api_app(
        load_settings(data_dir=tmp_path),
        database=database,
        store=MemoryObjectStore(),
        event_sender=InMemoryEventSender(),
        run_canceller=InMemoryRunCanceller(),
        max_body_bytes=100,
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        yield client
    await database.dispose()


async def test_openapi_lists_the_contract_paths(http: httpx.AsyncClient) -> None:
    schema = (await http.get("/openapi.json")).json()
    for path in (
        "/api/v1/runs",
        "/api/v1/runs/{run_id}/cancel",
        "/api/v1/clients/{client_id}/files/{path}",
        "/api/v1/skills/{name}/metrics",
        "/api/v1/outputs/{output_id}/content",
        "/api/v1/me/channels",
        "/api/v1/feedback",
        "/health",
    ):
        assert path in schema["paths"], path
    run_in = schema["components"]["schemas"]["RunCreateIn"]
    assert set(run_in["properties"]) == {"skillName", "message", "clientId", "options"}
    assert (await http.get("/docs")).status_code == 200


async def test_body_limit_applies_before_auth(http: httpx.AsyncClient) -> None:
    response = await http.post("/api/v1/runs", content=b"x" * 101)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_small_bodies_pass_the_limit(http: httpx.AsyncClient) -> None:
    response = await http.post("/api/v1/runs", content=b"{}")
    assert response.status_code == 401  # reached the route, which wants a key


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errors.MissingAuthHeader("x"), 401),
        (errors.InvalidApiKey("x"), 401),
        (errors.ValidationFailed("x"), 422),
        (errors.InvalidStorageKey("x"), 422),
        (errors.SkillNotFound("x"), 404),
        (errors.ObjectNotFound("x"), 404),
        (errors.Conflict("x"), 409),
        (errors.PayloadTooLarge("x"), 413),
        (errors.RateLimited("x"), 429),
        (errors.ServiceUnavailable("x"), 503),
        (errors.LLMFatalError("x"), 500),
    ],
)
def test_status_of(error: errors.MarketingAgentError, status: int) -> None:
    assert status_of(error) == status


async def test_health_reports_an_unreachable_database(tmp_path: Path) -> None:
    # A PostgreSQL server that is not there (asyncpg fails fast and leaves no worker thread behind).
    database = Database(f"postgresql://postgres@127.0.0.1:{free_port()}/nothing")
    app = create_api_app(
        load_settings(data_dir=tmp_path),
        database=database,
        store=MemoryObjectStore(),
        event_sender=InMemoryEventSender(),
        run_canceller=InMemoryRunCanceller(),
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        response = await client.get("/health")
    await database.dispose()
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
