"""The dashboard's Replays pages: create a replay from the form, watch it to the end, act on it."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit

from integration.dashboard.dashboard_stack import DashStack
from integration.dashboard.test_actions import flash, post_form


async def test_create_and_watch_a_replay_from_the_dashboard(sqlite_stack: DashStack) -> None:
    stack = sqlite_stack
    failed = [await stack.start("demo/fail", {"n": i}, ("FAILED",)) for i in range(3)]
    page = (await stack.http.get(f"{stack.engine_url}/replays")).text
    assert "No replays yet." in page
    assert stack.fn("explode") in page

    form = {"function_id": stack.fn("explode"), "status": "FAILED", "since": "1h", "rate": "50"}
    assert "rate" in flash(await post_form(stack, "/replays", {**form, "rate": "fast"}))["error"]
    assert "filter" in flash(await post_form(stack, "/replays", {**form, "filter": "event.data.n =="}))["error"]
    location = await post_form(stack, "/replays", {**form, "filter": "event.data.n >= 1"})
    assert flash(location)["flash"] == "Replaying 2 runs"
    replay_path = urlsplit(location).path
    replay_id = replay_path.rsplit("/", 1)[-1]

    deadline = time.monotonic() + 20
    while True:
        data = (await stack.http.get(f"{stack.engine_url}{replay_path}", headers={"accept": "application/json"})).json()
        if data["replay"]["status"] == "COMPLETED":
            break
        assert time.monotonic() < deadline, data
        await asyncio.sleep(0.1)
    progress = data["replay"]["progress"]
    assert (progress["matched"], progress["started"], progress["done"], progress["failed"]) == (2, 2, 2, 2)
    page = (await stack.http.get(f"{stack.engine_url}{replay_path}")).text
    originals = {r["run"]["id"] for r in failed if r["run"]["events"][0]["data"]["n"] >= 1}
    for pair in data["replay"]["runs"]:
        assert pair["original_run_id"] in originals
        assert pair["run_id"] in page
    assert "matched <strong>2</strong>" in page
    assert replay_id in (await stack.http.get(f"{stack.engine_url}/replays")).text

    # A finished replay cannot be paused; the error comes back to its page.
    refused = flash(await post_form(stack, f"/replays/{replay_id}/pause", {}))
    assert "COMPLETED" in refused["error"]
