"""``/metrics`` over a real engine: runs by status, queue depth per function, latency, retries, events."""

from __future__ import annotations

import asyncio
import re
import time

from integration.dashboard.dashboard_stack import DashStack


def sample(text: str, name: str, **labels: str) -> float | None:
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.escape(name + (f"{{{want}}}" if want else "")) + r" ([0-9.e+-]+)$"
    match = re.search(pattern, text, re.MULTILINE)
    return float(match.group(1)) if match else None


async def test_metrics_reflect_the_store(sqlite_stack: DashStack) -> None:
    stack = sqlite_stack
    await stack.start("demo/hello", {"name": "ada"}, ("COMPLETED",))
    await stack.start("demo/fail", {}, ("FAILED",))
    await stack.start("demo/sleep", {}, ("WAITING",))
    explode = stack.fn("explode")
    # Counters tail the store up to a second behind (so a commit in flight is never skipped): poll.
    deadline = time.monotonic() + 10
    while True:
        reply = await stack.http.get(f"{stack.engine_url}/metrics")
        text = reply.text
        if sample(text, "engine_step_retries_total", function_id=explode) == 1.0 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert reply.headers["content-type"].startswith("text/plain")
    assert sample(text, "engine_runs", status="completed") == 1.0
    assert sample(text, "engine_runs", status="failed") == 1.0
    assert sample(text, "engine_runs", status="waiting") == 1.0
    assert sample(text, "engine_runs", status="running") == 0.0
    assert sample(text, "engine_queue_depth", function_id=stack.fn("sleepy"), state="delayed") == 1.0
    assert sample(text, "engine_step_retries_total", function_id=explode) == 1.0
    assert sample(text, "engine_step_attempts_total", function_id=explode, outcome="error") == 2.0
    count = sample(text, "engine_step_duration_seconds_count", function_id=explode)
    assert count is not None
    assert count >= 3
    received = sample(text, "engine_events_received_total")
    assert received is not None
    assert received >= 3  # three sent, plus the lifecycle events the engine emits
