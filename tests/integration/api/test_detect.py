"""``POST /api/v1/detect`` and ``"skillName": "auto"`` end to end: the built-in catalogue in the skills
table, the model step through the real Anthropic SDK against the local fake Messages API."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from marketing_agent.agent.detect import LLMSkillClassifier, SkillDetector
from marketing_agent.agent.skills import load_skill_catalog
from marketing_agent.api import create_api_app
from marketing_agent.services import (
    SKILL_EXECUTE,
    Database,
    InMemoryEventSender,
    InMemoryRunCanceller,
    create_user,
    sync_skills,
    upgrade_database,
)
from marketing_agent.settings import load_settings
from marketing_agent.storage import LocalObjectStore
from support.fake_anthropic import FakeAnthropic, anthropic_error
from support.fake_llm_server import FakeReply

VAGUE = "some words about the thing we are shipping"  # no keyword settles it: the model step runs


@dataclass
class DetectApi:
    http: httpx.AsyncClient
    events: InMemoryEventSender
    model: FakeAnthropic
    key: str
    other_key: str

    def auth(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.key}"}

    async def detect(self, message: Any, key: str | None = None) -> httpx.Response:
        return await self.http.post("/api/v1/detect", json={"message": message}, headers=self.auth(key))


@pytest.fixture
def fake_anthropic() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as server:
        yield server


@pytest.fixture
async def api(database_url: str, tmp_path: Path, fake_anthropic: FakeAnthropic) -> AsyncIterator[DetectApi]:
    await upgrade_database(database_url)
    database = Database(database_url)
    await sync_skills(database, (await load_skill_catalog()).all())
    events = InMemoryEventSender()
    settings = load_settings(
        data_dir=tmp_path, anthropic_api_key="test-key", anthropic_base_url=fake_anthropic.base_url
    )
    detector = SkillDetector(LLMSkillClassifier.from_settings(settings))
    app = create_api_app(
        settings,
        database=database,
        store=LocalObjectStore(tmp_path / "store"),
        event_sender=events,
        run_canceller=InMemoryRunCanceller(),
        skill_detector=detector,
    )
    key = (await create_user(database, "ada@example.com")).api_key
    other_key = (await create_user(database, "eve@example.com")).api_key
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        yield DetectApi(http, events, fake_anthropic, key, other_key)
    await detector.aclose()
    await database.dispose()


def data(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is True
    return body["data"]


def model_answer(skill: str | None, confidence: float) -> FakeReply:
    return FakeReply(text=json.dumps({"skill": skill, "confidence": confidence}))


async def add_client(api: DetectApi, name: str, slug: str, key: str | None = None) -> str:
    response = await api.http.post("/api/v1/clients", json={"name": name, "slug": slug}, headers=api.auth(key))
    return str(data(response, 201)["id"])


async def test_detect_by_keywords_with_the_client_and_the_output_type(api: DetectApi) -> None:
    acme = await add_client(api, "Acme Plumbing", "acme")
    await add_client(api, "Acme Plumbing", "acme-other", key=api.other_key)  # another user's: never matched
    answer = data(await api.detect("Plan a drip campaign of onboarding emails for Acme Plumbing's trial users"))
    assert set(answer) == {"skill", "method", "confidence", "candidates", "clientId", "outputType"}
    assert answer["skill"] == "email-sequence"
    assert answer["method"] == "keywords"
    assert 0.7 <= answer["confidence"] <= 1
    assert answer["candidates"][0] == {"skill": "email-sequence", "score": answer["candidates"][0]["score"]}
    scores = [c["score"] for c in answer["candidates"]]
    assert scores == sorted(scores, reverse=True)
    assert answer["clientId"] == acme
    assert answer["outputType"] == "email-sequence"
    assert api.model.requests == []  # keywords settled it


async def test_detect_by_explicit_prefix_and_client_slug(api: DetectApi) -> None:
    acme = await add_client(api, "Acme Plumbing", "acme")
    answer = data(await api.detect("/seo-audit why did acme lose traffic"))
    assert (answer["skill"], answer["method"], answer["confidence"]) == ("seo-audit", "explicit", 1.0)
    assert answer["clientId"] == acme
    assert answer["outputType"] is None


async def test_detect_asks_the_cheapest_model_with_a_json_schema_of_the_skill_names(api: DetectApi) -> None:
    api.model.enqueue(model_answer("launch-strategy", 0.85))
    answer = data(await api.detect(VAGUE))
    assert (answer["skill"], answer["method"], answer["confidence"]) == ("launch-strategy", "model", 0.85)
    assert answer["candidates"][0]["skill"] == "launch-strategy"
    assert answer["clientId"] is None
    (request,) = api.model.requests
    assert request.json["model"] == "claude-haiku-5-5"  # the cheapest Anthropic model in the price table
    schema = request.json["output_config"]["format"]
    assert schema["type"] == "json_schema"
    names = schema["schema"]["properties"]["skill"]["anyOf"][0]["enum"]
    assert names == sorted((await load_skill_catalog()).names())


async def test_detect_with_nothing_confident(api: DetectApi) -> None:
    api.model.enqueue(model_answer(None, 0.9))
    answer = data(await api.detect("what's the weather in Berlin tomorrow?"))
    assert (answer["skill"], answer["method"]) == (None, "none")


async def test_detect_refuses_bad_input(api: DetectApi) -> None:
    for body in ({}, {"message": ""}, {"message": 5}, {"message": "x" * 10_001}, {"message": "hi", "extra": 1}):
        response = await api.http.post("/api/v1/detect", json=body, headers=api.auth())
        assert response.status_code == 422, body
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"
        assert response.json()["error"]["details"][0]["field"] in {"message", "extra"}
    assert (await api.http.post("/api/v1/detect", json={"message": "hi"})).status_code == 401


async def test_auto_detects_then_runs(api: DetectApi) -> None:
    acme = await add_client(api, "Acme Plumbing", "acme")
    response = await api.http.post(
        "/api/v1/runs",
        json={"skillName": "auto", "message": "Write a press release about Acme's Series A funding"},
        headers=api.auth(),
    )
    queued = data(response, 202)
    assert queued["skill"] == "press-release"
    assert queued["clientId"] == acme
    (event,) = api.events.named(SKILL_EXECUTE)
    assert event.data["skillName"] == "press-release"
    assert event.data["clientId"] == acme
    run = data(await api.http.get(f"/api/v1/runs/{queued['runId']}", headers=api.auth()))
    assert (run["skill"], run["status"]) == ("press-release", "queued")


async def test_auto_with_an_explicit_prefix_runs_the_rest_of_the_message(api: DetectApi) -> None:
    queued = data(
        await api.http.post(
            "/api/v1/runs", json={"skillName": "auto", "message": "copywriting: a tagline"}, headers=api.auth()
        ),
        202,
    )
    assert queued["skill"] == "copywriting"
    (event,) = api.events.named(SKILL_EXECUTE)
    assert event.data["userMessage"] == "a tagline"


async def test_auto_by_the_model(api: DetectApi) -> None:
    api.model.enqueue(model_answer("social-content", 0.9))
    queued = data(
        await api.http.post("/api/v1/runs", json={"skillName": "auto", "message": VAGUE}, headers=api.auth()), 202
    )
    assert queued["skill"] == "social-content"


async def test_auto_not_confident_answers_422_with_the_candidates_and_runs_nothing(api: DetectApi) -> None:
    api.model.enqueue(model_answer("copywriting", 0.3))
    response = await api.http.post(
        "/api/v1/runs", json={"skillName": "auto", "message": "help with our website"}, headers=api.auth()
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "SKILL_NOT_DETECTED"
    candidates = error["details"]["candidates"]
    assert candidates[0]["skill"] == "copywriting"
    assert all(set(c) == {"skill", "score"} for c in candidates)
    assert api.events.sent == []
    runs = data(await api.http.get("/api/v1/runs", headers=api.auth()))
    assert runs["total"] == 0


async def test_auto_with_a_model_that_is_down_still_answers_422(api: DetectApi) -> None:
    api.model.enqueue(anthropic_error(529))
    response = await api.http.post("/api/v1/runs", json={"skillName": "auto", "message": VAGUE}, headers=api.auth())
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "SKILL_NOT_DETECTED"
    assert len(api.model.requests) == 1  # asked once: the engine retries runs, detection does not retry
