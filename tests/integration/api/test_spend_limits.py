"""Unlimited spend, refused: per-user request rate (429 + Retry-After), runs per day, model and token caps."""

from __future__ import annotations

import uuid

import pytest

from marketing_agent.agent.spend import check_spend
from marketing_agent.api.rate_limit import UserRateLimiter
from marketing_agent.errors import ValidationFailed
from marketing_agent.settings import load_settings
from support.api_harness import Api

RUN = {"skillName": "copywriting", "message": "x"}


async def test_requests_per_minute_per_user(api: Api) -> None:
    api.app.state.rate_limiter = UserRateLimiter(3)
    for _ in range(3):
        assert (await api.http.get("/api/v1/skills", headers=api.auth())).status_code == 200
    refused = await api.http.get("/api/v1/runs", headers=api.auth())  # any authenticated route counts
    assert refused.status_code == 429
    body = refused.json()
    assert body["error"]["code"] == "RATE_LIMIT_EXCEEDED"
    assert 1 <= body["error"]["details"]["retryAfter"] <= 60
    assert refused.headers["retry-after"] == str(body["error"]["details"]["retryAfter"])
    # Another user is counted alone.
    assert (await api.http.get("/api/v1/skills", headers=api.auth(api.other_key))).status_code == 200


def test_the_window_slides() -> None:
    now = [1000.0]
    limiter = UserRateLimiter(2, clock=lambda: now[0])
    user = uuid.uuid4()
    limiter.hit(user)
    now[0] += 30
    limiter.hit(user)
    now[0] += 31  # the first hit left the window
    limiter.hit(user)


async def test_runs_per_day(api: Api) -> None:
    api.app.state.context.settings.runs_per_day = 2
    for _ in range(2):
        assert (await api.http.post("/api/v1/runs", json=RUN, headers=api.auth())).status_code == 202
    refused = await api.http.post("/api/v1/runs", json=RUN, headers=api.auth())
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 23 * 3600
    assert len(api.events.sent) == 2  # the third never reached the engine


async def test_models_and_token_limits_are_the_operators(api: Api) -> None:
    settings = api.app.state.context.settings
    settings.llm_model = "claude-haiku-4-5"
    settings.llm_allowed_models = "claude-sonnet-4-5"
    for options, field in (
        ({"model": "claude-opus-4-1"}, "options.model"),
        ({"maxTokens": settings.llm_max_tokens_cap + 1}, "options.maxTokens"),
        ({"contextBudgetTokens": settings.context_budget_cap_tokens + 1}, "options.contextBudgetTokens"),
    ):
        refused = await api.http.post("/api/v1/runs", json={**RUN, "options": options}, headers=api.auth())
        assert refused.status_code == 422, options
        assert refused.json()["error"]["details"] == [{"field": field}]
    for model in ("claude-haiku-4-5", "claude-sonnet-4-5"):
        accepted = await api.http.post("/api/v1/runs", json={**RUN, "options": {"model": model}}, headers=api.auth())
        assert accepted.status_code == 202
    assert len(api.events.sent) == 2


def test_runs_from_other_paths_are_checked_where_they_execute() -> None:
    """The bot, schedules and workflows skip POST /runs; the executor calls the same check (wiring.py)."""
    settings = load_settings(llm_model="m-default", _env_file=None)
    check_spend({"model": "m-default", "max_tokens": 100, "telegram": {"chatId": 1}}, settings)
    with pytest.raises(ValidationFailed):
        check_spend({"model": "m-expensive"}, settings)
    with pytest.raises(ValidationFailed):
        check_spend({"max_tokens": 10**6}, settings)
