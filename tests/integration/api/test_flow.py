"""The contract's happy paths, end to end through the app (the engine's side played by the services)."""

from __future__ import annotations

import time
from typing import Any

from pydantic import SecretStr

from marketing_agent.services import (
    SKILL_EXECUTE,
    create_run,
    mark_run_completed,
    mark_run_running,
    output_link,
    process_feedback,
    record_output,
    resolve_user_by_api_key,
)
from support.api_harness import Api


def data(response: Any) -> Any:
    body = response.json()
    assert body["success"] is True, body
    return body["data"]


async def test_health(api: Api) -> None:
    response = await api.http.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_skills(api: Api) -> None:
    listing = data(await api.http.get("/api/v1/skills", headers=api.auth()))
    assert listing["total"] == 2
    assert listing["skills"][0] == {
        "name": "copywriting",
        "description": "The copywriting skill.",
        "type": "copy",
        "category": "copywriting",
        "triggerKeywords": ["headline"],
        "relatedSkills": ["copy-editing"],
    }
    detail = data(await api.http.get("/api/v1/skills/copywriting", headers=api.auth()))
    assert detail["hasRules"] is True
    assert detail["hasSubdirectories"] is False
    metrics = data(await api.http.get("/api/v1/skills/copywriting/metrics", headers=api.auth()))
    assert metrics["feedbackCount"] == 0
    assert metrics["health"] == "ok"


async def test_clients_and_files(api: Api) -> None:
    created = await api.http.post(
        "/api/v1/clients", json={"name": "Acme", "slug": "acme", "description": "Rockets"}, headers=api.auth()
    )
    assert created.status_code == 201
    client = data(created)
    assert client["s3Prefix"] == "clients/acme/"
    assert set(client) >= {"id", "name", "slug", "description", "s3Prefix", "createdAt"}
    cid = client["id"]
    put = await api.http.put(
        f"/api/v1/clients/{cid}/files/brand/voice.md",
        content=b"# Voice\nWarm.",
        headers={**api.auth(), "Content-Type": "text/markdown"},
    )
    assert data(put)["path"] == "brand/voice.md"
    got = await api.http.get(f"/api/v1/clients/{cid}/files/brand/voice.md", headers=api.auth())
    assert got.text == "# Voice\nWarm."
    assert got.headers["content-type"].startswith("text/markdown")
    files = data(await api.http.get(f"/api/v1/clients/{cid}/files", headers=api.auth()))
    assert [f["path"] for f in files["files"]] == ["brand/voice.md"]
    detail = data(await api.http.get(f"/api/v1/clients/{cid}", headers=api.auth()))
    assert detail["contextSummary"]["hasBrandVoice"] is True
    assert detail["contextSummary"]["hasProfile"] is False
    renamed = data(await api.http.put(f"/api/v1/clients/{cid}", json={"name": "Acme Inc"}, headers=api.auth()))
    assert renamed["name"] == "Acme Inc"
    assert renamed["description"] == "Rockets"
    listing = data(await api.http.get("/api/v1/clients", headers=api.auth()))
    assert (listing["total"], listing["limit"], listing["offset"]) == (1, 20, 0)
    deleted = await api.http.delete(f"/api/v1/clients/{cid}/files/brand/voice.md", headers=api.auth())
    assert data(deleted) == {"deleted": True}
    assert data(await api.http.delete(f"/api/v1/clients/{cid}", headers=api.auth())) == {"deleted": True}
    assert (await api.http.get(f"/api/v1/clients/{cid}", headers=api.auth())).status_code == 404


async def test_run_output_feedback_cycle(api: Api) -> None:
    client = data(await api.http.post("/api/v1/clients", json={"name": "A", "slug": "a"}, headers=api.auth()))
    queued = await api.http.post(
        "/api/v1/runs",
        json={
            "skillName": "copywriting",
            "message": "Homepage hero",
            "clientId": client["id"],
            "options": {"outputType": "homepage", "maxTokens": 500},
        },
        headers=api.auth(),
    )
    assert queued.status_code == 202
    body = data(queued)
    assert body["status"] == "queued"
    assert body["skill"] == "copywriting"
    assert body["clientId"] == client["id"]
    assert isinstance(body["estimatedWaitTime"], int)
    assert body["queuedAt"].endswith(("+00:00", "Z"))
    [event] = api.events.named(SKILL_EXECUTE)
    assert event.data["runId"] == body["runId"]

    run_id = body["runId"]
    await mark_run_running(api.database, run_id, engine_run_id="fr-1")
    key = f"outputs/copywriting/a/2026-01-01-{run_id}.md"
    await api.store.put(key, b"# Hero\nBuy rockets.")
    output = await record_output(api.database, run_id, storage_key=key, title="Hero", content="# Hero\nBuy rockets.")
    await mark_run_completed(api.database, run_id, tokens_input=10, tokens_output=20, cost_usd=0.5, model="m")

    run = data(await api.http.get(f"/api/v1/runs/{run_id}", headers=api.auth()))
    assert run["status"] == "completed"
    assert run["tokensInput"] == 10
    assert run["costUsd"] == 0.5
    assert run["output"] == {
        "id": str(output.id),
        "title": "Hero",
        "preview": "# Hero\nBuy rockets.",
        "format": "markdown",
    }
    runs = data(await api.http.get("/api/v1/runs?status=completed", headers=api.auth()))
    assert runs["runs"][0]["hasOutput"] is True
    assert data(await api.http.get("/api/v1/runs?status=queued", headers=api.auth()))["total"] == 0

    outputs = data(await api.http.get("/api/v1/outputs?skillName=copywriting", headers=api.auth()))
    assert outputs["total"] == 1
    content = await api.http.get(f"/api/v1/outputs/{output.id}/content", headers=api.auth())
    assert content.text == "# Hero\nBuy rockets."
    download = data(await api.http.get(f"/api/v1/outputs/{output.id}/download", headers=api.auth()))
    assert download["downloadUrl"] == f"http://testserver/api/v1/outputs/{output.id}/content"
    assert download["filename"].endswith(".md")

    rated = await api.http.post(
        "/api/v1/feedback",
        json={
            "outputId": str(output.id),
            "overallScore": 2,
            "issues": [{"description": "bland", "severity": "medium"}],
            "source": "web",
        },
        headers=api.auth(),
    )
    assert rated.status_code == 201
    feedback = data(rated)
    assert set(feedback) == {"id", "outputId", "overallScore", "createdAt"}
    await process_feedback(api.database, feedback["id"])
    detail = data(await api.http.get(f"/api/v1/outputs/{output.id}", headers=api.auth()))
    assert detail["feedback"][0]["issues"][0]["severity"] == "medium"
    listing = data(await api.http.get("/api/v1/feedback?maxScore=2&skillName=copywriting", headers=api.auth()))
    assert listing["total"] == 1
    metrics = data(await api.http.get("/api/v1/skills/copywriting/metrics", headers=api.auth()))
    assert metrics["health"] == "low"
    assert metrics["runsCompleted"] == 1


async def test_cancel(api: Api) -> None:
    run_id = data(
        await api.http.post("/api/v1/runs", json={"skillName": "copywriting", "message": "x"}, headers=api.auth())
    )["runId"]
    await mark_run_running(api.database, run_id, engine_run_id="fr-9")
    cancelled = await api.http.post(f"/api/v1/runs/{run_id}/cancel", headers=api.auth())
    assert data(cancelled)["status"] == "cancelled"
    assert api.canceller.cancelled == ["fr-9"]
    again = await api.http.post(f"/api/v1/runs/{run_id}/cancel", headers=api.auth())
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "CONFLICT"


async def test_channels(api: Api) -> None:
    made = await api.http.post(
        "/api/v1/me/channels",
        json={"channel": "webhook", "address": "https://93.184.215.14/hook"},  # public; no DNS in tests
        headers=api.auth(),
    )
    assert made.status_code == 201
    channel = data(made)
    assert len(channel["secret"]) >= 32
    listing = data(await api.http.get("/api/v1/me/channels", headers=api.auth()))
    assert listing["total"] == 1
    assert "secret" not in listing["channels"][0]
    assert (await api.http.get("/api/v1/me/channels", headers=api.auth(api.other_key))).json()["data"]["total"] == 0
    gone = await api.http.delete(f"/api/v1/me/channels/{channel['id']}", headers=api.auth())
    assert data(gone) == {"deleted": True}


async def test_a_webhook_to_an_internal_address_is_refused(api: Api) -> None:
    """SSRF: a webhook or Slack URL at loopback, a private network or the metadata service."""
    for channel, address in (
        ("webhook", "http://127.0.0.1:8288/v1/events"),
        ("webhook", "http://10.0.0.5/hook"),
        ("slack", "http://169.254.169.254/latest/meta-data"),
        ("webhook", "http://[::1]:8000/api/inngest"),
    ):
        made = await api.http.post("/api/v1/me/channels", json={"channel": channel, "address": address},
                                   headers=api.auth())  # fmt: skip
        assert made.status_code == 422, address
        assert made.json()["error"]["details"] == [{"field": "address"}]
    listing = data(await api.http.get("/api/v1/me/channels", headers=api.auth()))
    assert listing["total"] == 0


async def test_signed_output_links_open_without_a_key_and_only_while_valid(api: Api) -> None:
    """A notification's link opens the output in a browser; tampered, expired, re-pointed or re-keyed links
    do not (the attack: guess or alter a link to read someone else's output)."""
    settings = api.app.state.context.settings
    user = await resolve_user_by_api_key(api.database, api.key)
    run = await create_run(api.database, api.events, user.id, skill_name="copywriting", message="x")
    output = await record_output(api.database, run.id, storage_key=f"outputs/x/{run.id}.md", title="t", content="c")
    other = await create_run(api.database, api.events, user.id, skill_name="copywriting", message="y")
    other_output = await record_output(
        api.database, other.id, storage_key=f"outputs/x/{other.id}.md", title="t", content="secret"
    )
    await api.store.put(output.storage_key, b"# Shared")
    await api.store.put(other_output.storage_key, b"# Other")
    link = output_link(settings, output.id).removeprefix(settings.api_url)
    opened = await api.http.get(link)  # no Authorization header
    assert opened.status_code == 200
    assert opened.text == "# Shared"
    assert opened.headers["cache-control"] == "private, no-store"
    expires = int(link.split("expires=")[1].split("&")[0])
    assert 7 * 24 * 3600 - 60 < expires - time.time() <= 7 * 24 * 3600
    for bad in (
        link.replace(str(output.id), str(other_output.id)),  # the same signature on another output
        link[:-4] + ("0000" if not link.endswith("0000") else "1111"),  # a forged signature
        link.replace(f"expires={expires}", f"expires={expires + 3600}"),  # a longer life
        output_link(settings, output.id, now=time.time() - 8 * 24 * 3600).removeprefix(settings.api_url),  # expired
        f"/api/v1/outputs/{output.id}/content?expires={expires}",  # half a link
        f"/api/v1/outputs/{output.id}/content?expires={expires}&signature=%C3%A9t%C3%A9",  # not ASCII (was a 500)
    ):
        refused = await api.http.get(bad)
        assert refused.status_code == 401, bad
        assert "# Other" not in refused.text
    settings.output_link_key = SecretStr("a-new-key-rotated-in")  # rotating the key revokes old links
    assert (await api.http.get(link)).status_code == 401
