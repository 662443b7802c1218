"""Sync-time refusal of flow-control configs that Inngest refuses, with a message naming the problem."""

from __future__ import annotations

from typing import Any

import pytest

from marketing_agent.engine.errors import FunctionConfigInvalid
from marketing_agent.engine.functions import parse_function

BATCH = {"maxSize": 10, "timeout": "5s"}


def _fn(**options: Any) -> dict[str, Any]:
    return {
        "id": "app-f", "triggers": [{"event": "e"}],
        "steps": {"step": {"id": "step", "name": "step", "runtime": {"type": "http", "url": "http://x/api"}}},
        **options,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"batchEvents": BATCH, "idempotency": "event.id"}, "batch_events cannot be combined with idempotency"),
        ({"batchEvents": BATCH, "rateLimit": {"limit": 1, "period": "1m"}}, "cannot be combined with rate limit"),
        ({"batchEvents": BATCH, "cancel": [{"event": "x"}]}, "cannot be combined with cancel_on"),
        ({"batchEvents": BATCH, "priority": {"run": "1"}}, "cannot be combined with priority"),
        ({"batchEvents": BATCH, "singleton": {"mode": "skip"}}, "cannot be combined with singleton"),
        ({"throttle": {"limit": 1, "period": "8d"}}, "throttle.period must be between 1s and 7d"),
        ({"throttle": {"limit": 0, "period": "1m"}}, "throttle.limit must be a positive integer"),
        ({"rateLimit": {"limit": 1, "period": "25h"}}, "rate_limit.period must be between 1s and 1d"),
        ({"debounce": {"period": "500ms"}}, "debounce.period must be between 1s and 7d"),
        ({"concurrency": [{"limit": 1}, {"limit": 2}, {"limit": 3}]}, "at most 2 concurrency limits"),
        ({"concurrency": [{"limit": 1, "scope": "env"}]}, "scope 'env' needs a key"),
        ({"singleton": {"mode": "queue"}}, "singleton.mode must be 'skip' or 'cancel'"),
        ({"throttle": {"limit": 1, "period": "1m", "key": "event.data."}}, "throttle.key"),
        ({"batchEvents": {"maxSize": 0}}, "batch_events.max_size must be a positive integer"),
    ],
)
def test_refused_at_sync(options: dict[str, Any], message: str) -> None:
    with pytest.raises(FunctionConfigInvalid, match=message.replace("(", r"\(")) as info:
        parse_function("app", _fn(**options))
    assert str(info.value).startswith("app-f: ")


def test_every_option_together_is_accepted() -> None:
    cfg = _fn(
        throttle={"key": "event.data.user", "limit": 10, "period": "1m", "burst": 2},
        rateLimit={"key": "event.data.user", "limit": 5, "period": "1h"},
        concurrency=[{"key": "event.data.user", "limit": 3, "scope": "fn"}, {"limit": 50}],
        debounce={"key": "event.data.user", "period": "30s", "timeout": "5m"},
        timeouts={"start": "90s", "finish": "2h"},
        priority={"run": "event.data.vip ? 120 : 0"},
        idempotency="event.data.order_id",
        singleton={"key": "event.data.user", "mode": "skip"},
    )
    assert parse_function("app", cfg).config["throttle"]["limit"] == 10
