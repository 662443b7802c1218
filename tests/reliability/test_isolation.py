"""Isolation and auth: every ``/api/v1`` operation in the app's OpenAPI schema, called with no key, a wrong
key and another user's key. No key or a wrong key is a 401; another user's key is a 404 for anything the
first user owns, and no answer ever carries the first user's data or changes it. The operations come from
the schema, so a new route is covered (or, with a path parameter nobody seeded, fails here) by itself.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from marketing_agent.agent.skills import load_skill_catalog
from marketing_agent.api import create_api_app
from marketing_agent.services import (
    Database,
    InMemoryEventSender,
    InMemoryRunCanceller,
    create_user,
    record_output,
    sync_skills,
    upgrade_database,
)
from marketing_agent.settings import load_settings
from marketing_agent.storage import LocalObjectStore

SECRET = "owner-secret-7f3a"  # appears in everything the owner creates
WORKFLOW = "email-campaign"


@dataclass
class Owned:
    """What the owner (user A) created, and every string that would betray a leak."""

    ids: dict[str, str] = field(default_factory=dict)
    markers: set[str] = field(default_factory=set)


@dataclass
class World:
    http: httpx.AsyncClient
    owner_key: str
    other_key: str
    owned: Owned

    def auth(self, key: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"} if key else {}


async def seed(http: httpx.AsyncClient, db: Database, key: str) -> Owned:
    owned = Owned()
    auth = {"Authorization": f"Bearer {key}"}
    reply = await http.post(
        "/api/v1/clients",
        json={"name": f"Acme {SECRET}", "slug": "acme-owner", "description": SECRET},
        headers=auth,
    )
    assert reply.status_code == 201, reply.text
    owned.ids["client_id"] = reply.json()["data"]["id"]
    reply = await http.put(
        f"/api/v1/clients/{owned.ids['client_id']}/files/brand/voice.md",
        content=f"# Voice\n{SECRET}\n".encode(),
        headers={**auth, "content-type": "text/markdown"},
    )
    assert reply.status_code == 200, reply.text
    owned.ids["path"] = "brand/voice.md"
    reply = await http.post(
        "/api/v1/runs",
        json={"skillName": "copywriting", "message": f"Launch copy {SECRET}", "clientId": owned.ids["client_id"]},
        headers=auth,
    )
    assert reply.status_code == 202, reply.text
    owned.ids["run_id"] = reply.json()["data"]["runId"]
    output = await record_output(
        db,
        owned.ids["run_id"],
        storage_key=f"outputs/copywriting/acme-owner/2026-01-01-{owned.ids['run_id']}.md",
        title=f"Title {SECRET}",
        content=f"# Output\n{SECRET}\n",
    )
    owned.ids["output_id"] = str(output.id)
    reply = await http.post(
        "/api/v1/feedback",
        json={"outputId": owned.ids["output_id"], "overallScore": 4, "whatWorkedWell": SECRET},
        headers=auth,
    )
    assert reply.status_code in (200, 201), reply.text
    reply = await http.post(
        "/api/v1/me/channels",
        json={"channel": "webhook", "address": f"https://93.184.215.14/{SECRET}"},  # public; no DNS in tests
        headers=auth,
    )
    assert reply.status_code == 201, reply.text
    owned.ids["channel_id"] = reply.json()["data"]["id"]
    reply = await http.post(
        f"/api/v1/workflows/{WORKFLOW}/runs",
        json={"inputs": {"goal": f"Goal {SECRET}", "audience": "trial users"}, "clientId": owned.ids["client_id"]},
        headers=auth,
    )
    assert reply.status_code == 202, reply.text
    owned.ids["workflow_run_id"] = reply.json()["data"]["workflowRunId"]
    owned.ids["stage"] = "sequence"
    reply = await http.post(
        "/api/v1/schedules",
        json={"skillName": "copywriting", "message": f"Weekly {SECRET}", "cron": "0 9 * * 1", "timezone": "UTC"},
        headers=auth,
    )
    assert reply.status_code == 201, reply.text
    owned.ids["schedule_id"] = reply.json()["data"]["id"]
    owned.markers = {SECRET, "acme-owner", *owned.ids.values()} - {"brand/voice.md", "sequence"}
    return owned


@pytest.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    await upgrade_database(database_url)
    database = Database(database_url)
    await sync_skills(database, (await load_skill_catalog()).all())  # the workflows need their skills
    settings = load_settings(data_dir=tmp_path, public_api_url="http://testserver")
    app = create_api_app(
        settings,
        database=database,
        store=LocalObjectStore(tmp_path / "store"),
        event_sender=InMemoryEventSender(),
        run_canceller=InMemoryRunCanceller(),
    )
    owner_key = (await create_user(database, "owner@example.com")).api_key
    other_key = (await create_user(database, "other@example.com")).api_key
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        owned = await seed(http, database, owner_key)
        yield World(http, owner_key, other_key, owned)
    await database.dispose()


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for path, methods in spec["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in methods.items():
            if method in ("get", "post", "put", "patch", "delete"):
                found.append((method.upper(), path, operation))
    return found


#: Path parameters that name a global thing (the skill catalog, the workflow definitions), not something a
#: user owns, by the path prefix they appear under.
GLOBAL_PARAMS = {("/api/v1/skills/", "name"): "copywriting", ("/api/v1/workflows/", "name"): WORKFLOW}


def global_value(path: str, name: str) -> str | None:
    return next((v for (prefix, n), v in GLOBAL_PARAMS.items() if n == name and path.startswith(prefix)), None)


def request_for(method: str, path: str, owned: Owned) -> tuple[str, dict[str, Any], bool]:
    """The URL (the owner's ids filled in), the request arguments, and whether it targets the owner's data."""
    targets_owner = False
    url = path
    for segment in [s[1:-1] for s in path.split("/") if s.startswith("{")]:
        name = segment.split(":")[0]
        found = global_value(path, name)
        if found is not None:
            value = found
        else:
            assert name in owned.ids, f"{method} {path}: seed a value for path parameter {name!r} in this test"
            value, targets_owner = owned.ids[name], True
        url = url.replace("{" + segment + "}", value)
    kwargs: dict[str, Any] = {}
    if method in ("POST", "PUT", "PATCH"):
        if path.endswith("/files/{path}"):
            kwargs = {"content": b"# overwritten\n", "headers": {"content-type": "text/markdown"}}
        else:
            bodies = {
                "/api/v1/clients": {"name": "Other", "slug": f"other-{uuid.uuid4().hex[:6]}"},
                "/api/v1/clients/{client_id}": {"name": "Hijacked"},
                # the other user's run on the owner's client, and feedback on the owner's output
                "/api/v1/runs": {"skillName": "copywriting", "message": "x", "clientId": owned.ids["client_id"]},
                "/api/v1/feedback": {"outputId": owned.ids["output_id"], "overallScore": 1},
                "/api/v1/me/channels": {"channel": "webhook", "address": "https://93.184.215.14/other"},
                "/api/v1/me/channels/{channel_id}/verify": {"code": "not-the-code"},
                "/api/v1/detect": {"message": "write a homepage headline"},
                "/api/v1/workflows/{name}/runs": {"inputs": {"goal": "x", "audience": "y"}},
                "/api/v1/workflow-runs/{workflow_run_id}/stages/{stage}/review": {"decision": "approve"},
                "/api/v1/schedules": {
                    "skillName": "copywriting",
                    "message": "x",
                    "cron": "0 9 * * 1",
                    "timezone": "UTC",
                },
            }
            kwargs = {"json": bodies.get(path, {})}
            if path in ("/api/v1/runs", "/api/v1/feedback"):
                targets_owner = True
    return url, kwargs, targets_owner


async def test_every_route_rejects_missing_and_wrong_keys_and_hides_other_users_data(world: World) -> None:
    spec = (await world.http.get("/openapi.json")).json()
    ops = operations(spec)
    assert len(ops) >= 20, [f"{m} {p}" for m, p, _ in ops]
    checked = []
    # Destructive calls last, so every other call still finds the owner's data in place.
    for method, path, _ in sorted(ops, key=lambda op: op[0] == "DELETE"):
        url, kwargs, targets_owner = request_for(method, path, world.owned)
        headers = kwargs.pop("headers", {})
        for key in (None, "not-a-real-key", "ma_" + "0" * 40):
            reply = await world.http.request(method, url, headers={**headers, **world.auth(key)}, **kwargs)
            assert reply.status_code == 401, f"{method} {path} with key {key!r}: {reply.status_code} {reply.text}"
            assert reply.json()["error"]["code"] in ("MISSING_AUTH_HEADER", "UNAUTHORIZED", "INVALID_API_KEY")
        reply = await world.http.request(method, url, headers={**headers, **world.auth(world.other_key)}, **kwargs)
        if targets_owner:
            assert reply.status_code == 404, f"{method} {path} as another user: {reply.status_code} {reply.text}"
        else:
            assert reply.status_code < 400, f"{method} {path} as another user: {reply.status_code} {reply.text}"
        leaked = [m for m in world.owned.markers if m in reply.text]
        assert not leaked, f"{method} {path} as another user leaked {leaked}: {reply.text[:500]}"
        checked.append(f"{method} {path}")
    await assert_owner_data_intact(world)
    assert len(checked) == len(ops)


async def assert_owner_data_intact(world: World) -> None:
    owned, auth = world.owned, world.auth(world.owner_key)
    client = (await world.http.get(f"/api/v1/clients/{owned.ids['client_id']}", headers=auth)).json()["data"]
    assert SECRET in client["name"]
    voice = await world.http.get(f"/api/v1/clients/{owned.ids['client_id']}/files/{owned.ids['path']}", headers=auth)
    assert voice.status_code == 200
    assert SECRET in voice.text
    run = (await world.http.get(f"/api/v1/runs/{owned.ids['run_id']}", headers=auth)).json()["data"]
    assert run["status"] == "queued"
    channels = (await world.http.get("/api/v1/me/channels", headers=auth)).json()["data"]
    assert owned.ids["channel_id"] in str(channels)
