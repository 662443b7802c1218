"""The runs list and run page over a real engine: one status everywhere, attempts, errors, logs, filters."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from integration.dashboard.dashboard_stack import DashStack, dashboard_stack

JSON = {"accept": "application/json"}


async def page_json(stack: DashStack, path: str, **params: Any) -> dict[str, Any]:
    reply = await stack.http.get(f"{stack.engine_url}{path}", params=params, headers=JSON)
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


async def listed(stack: DashStack, **params: Any) -> list[str]:
    return [r["id"] for r in (await page_json(stack, "/runs", **params))["runs"]]


async def test_list_and_detail_agree_on_every_status(stack: DashStack) -> None:
    ok = await stack.start("demo/hello", {"name": "ada"}, ("COMPLETED",))
    bad = await stack.start("demo/fail", {"token": "needle-42"}, ("FAILED",))
    nap = await stack.start("demo/sleep", {}, ("WAITING",))
    ids = {"COMPLETED": ok["run"]["id"], "FAILED": bad["run"]["id"], "WAITING": nap["run"]["id"]}

    rows = (await page_json(stack, "/runs"))["runs"]
    assert {r["id"]: r["status"] for r in rows} == {v: k for k, v in ids.items()}
    for status, run_id in ids.items():
        assert (await page_json(stack, f"/runs/{run_id}"))["status"] == status
    # The JSON API keeps the stored status: a waiting run is RUNNING there, everything else is equal.
    stored = {r["id"]: r["status"] for r in (await stack.http.get(f"{stack.engine_url}/v1/runs")).json()["data"]}
    assert stored[ids["WAITING"]] == "RUNNING"
    assert stored[ids["FAILED"]] == "FAILED"
    assert stored[ids["COMPLETED"]] == "COMPLETED"

    html = (await stack.http.get(f"{stack.engine_url}/runs")).text
    for status, run_id in ids.items():
        assert f'data-run-id="{run_id}" data-status="{status.lower()}"' in html


async def test_failed_run_shows_attempts_error_stack_and_logs(stack: DashStack) -> None:
    bad = await stack.start("demo/fail", {}, ("FAILED",))
    context = f"run page data: steps={bad['steps']} calls={bad['calls']}"
    [step] = bad["steps"]
    assert step["name"] == "boom"
    assert step["status"] == "failed"
    assert [a["attempt"] for a in step["attempt_list"]] == [0, 1], context
    first = step["attempt_list"][0]
    assert first["outcome"] == "error"
    assert first["error"]["name"] == "ValueError"
    assert "the widget broke" in first["error"]["stack"]
    assert bad["error"]["message"] == "the widget broke"
    assert bad["waterfall"]["rows"][1]["label"] == "boom"
    assert len(bad["waterfall"]["rows"][1]["segments"]) == 2, context

    # Log lines are shipped after each attempt, in the background: poll until both attempts' lines are in.
    deadline = time.monotonic() + 10
    while True:
        detail = await page_json(stack, f"/runs/{bad['run']['id']}")
        lines = detail["steps"][0]["logs"]
        if len(lines) == 2 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    assert [(x["attempt"], x["level"], x["message"]) for x in lines] == [
        (0, "WARNING", "about to break, attempt 0"),
        (1, "WARNING", "about to break, attempt 1"),
    ]
    html = (await stack.http.get(f"{stack.engine_url}/runs/{bad['run']['id']}")).text
    assert "the widget broke" in html
    assert "about to break, attempt 1" in html
    assert html.count('class="attempt o-') >= 2


async def test_filters_search_and_time_range(stack: DashStack) -> None:
    ok = (await stack.start("demo/hello", {"name": "grace"}, ("COMPLETED",)))["run"]["id"]
    bad = (await stack.start("demo/fail", {"token": "needle-42"}, ("FAILED",)))["run"]["id"]
    nap = (await stack.start("demo/sleep", {}, ("WAITING",)))["run"]["id"]

    assert await listed(stack, status="failed") == [bad]
    assert await listed(stack, status="waiting") == [nap]
    assert await listed(stack, status="running") == []
    assert set(await listed(stack, status=["completed", "failed"])) == {ok, bad}
    assert await listed(stack, function=stack.fn("hello")) == [ok]
    assert await listed(stack, q="needle-42") == [bad]
    assert await listed(stack, q=ok) == [ok]
    assert await listed(stack, q="no-such-text") == []
    assert await listed(stack, range="15m") == [nap, bad, ok]
    assert await listed(stack, **{"from": "2999-01-01T00:00"}) == []
    assert await listed(stack, cursor=nap) == [bad, ok]
    fragment = (await stack.http.get(f"{stack.engine_url}/runs", params={"fragment": "rows", "status": "failed"})).text
    assert bad in fragment
    assert "<html" not in fragment


async def test_other_pages_render(sqlite_stack: DashStack) -> None:
    stack = sqlite_stack
    await stack.start("demo/fail", {}, ("FAILED",))
    event_id = await stack.send("demo/hello", {"name": "lin"})
    overview = await page_json(stack, "/")
    assert overview["by_status"]["FAILED"] == 1
    assert overview["recent_failures"][0]["error"] == "ValueError: the widget broke"
    assert (await page_json(stack, "/apps"))["apps"][0]["url"] == stack.app_url
    fns = {f["id"]: f for f in (await page_json(stack, "/functions"))["functions"]}
    assert fns[stack.fn("hello")]["triggers"] == [{"event": "demo/hello"}]
    detail = await page_json(stack, f"/functions/{stack.fn('explode')}")
    assert detail["retries"] == 1
    assert detail["flow"]["rateLimit"]["limit"] == 1000
    events = (await page_json(stack, "/events", name="demo/hello"))["events"]
    assert [e["id"] for e in events] == [event_id]
    assert events[0]["runs"][0]["function_id"] == stack.fn("hello")
    for path in ("/", "/apps", "/functions", f"/functions/{stack.fn('sleepy')}", "/events", f"/events/{event_id}"):
        reply = await stack.http.get(f"{stack.engine_url}{path}")
        assert reply.status_code == 200, path
        assert reply.headers["content-type"].startswith("text/html")
        assert "content-security-policy" in reply.headers
    missing = await stack.http.get(f"{stack.engine_url}/runs/01NOSUCHRUN0000000000000000")
    assert missing.status_code == 404


async def test_a_pending_retry_shows_when_it_is_scheduled(tmp_path: Path) -> None:
    async with dashboard_stack(tmp_path, backoff_table=(3600.0,)) as stack:
        event_id = await stack.send("demo/fail", {})
        [run] = await stack.runs_of_event(event_id)
        deadline = time.monotonic() + 20
        while True:
            detail = await page_json(stack, f"/runs/{run['id']}")
            if detail["steps"] and detail["steps"][0]["status"] == "retrying":
                break
            assert time.monotonic() < deadline, detail
            await asyncio.sleep(0.05)
        assert detail["status"] == "RUNNING"
        [step] = detail["steps"]
        first_end = step["attempt_list"][0]["ended_at"]
        assert step["next_attempt"]["attempt"] == 1
        assert step["next_attempt"]["available_at"] == first_end + 3_600_000
        html = (await stack.http.get(f"{stack.engine_url}/runs/{run['id']}")).text
        assert "Retry 2 scheduled for" in html


async def test_a_wait_for_event_shows_what_it_waits_for_then_resumes(sqlite_stack: DashStack) -> None:
    stack = sqlite_stack
    waiting = await stack.start("demo/ask", {}, ("WAITING",))
    [step] = waiting["steps"]
    assert (step["op"], step["status"], step["opts"]["event"]) == ("WaitForEvent", "waiting", "demo/approve")
    [pause] = waiting["pauses"]
    assert (pause["kind"], pause["event_name"]) == ("wait", "demo/approve")
    html = (await stack.http.get(f"{stack.engine_url}/runs/{waiting['run']['id']}")).text
    assert "Waits for <code>demo/approve</code>" in html
    await stack.send("demo/approve", {"ok": True})
    done = await stack.wait_status(waiting["run"]["id"], ("COMPLETED",))
    assert done["output"] == {"approved": True}
    assert done["pauses"] == []
