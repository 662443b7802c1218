"""The dashboard's actions through its forms, against a real engine and SDK app: send, invoke, cancel,
rerun, sync."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from integration.dashboard.dashboard_stack import DashStack


async def post_form(stack: DashStack, path: str, data: dict[str, str]) -> str:
    """POST a dashboard form (with the CSRF cookie's token) and return the redirect target."""
    if "engine_csrf" not in stack.http.cookies:
        await stack.http.get(f"{stack.engine_url}/events")
    reply = await stack.http.post(f"{stack.engine_url}{path}", data={**data, "csrf": stack.http.cookies["engine_csrf"]})
    assert reply.status_code == 303, reply.text
    return str(reply.headers["location"])


def flash(location: str) -> dict[str, Any]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def test_send_invoke_cancel_rerun_and_sync(sqlite_stack: DashStack) -> None:
    stack = sqlite_stack
    # Send an event: the page it lands on lists the run it started.
    location = await post_form(stack, "/events/send", {"name": "demo/sleep", "data": "{}"})
    event_id = urlsplit(location).path.rsplit("/", 1)[-1]
    [run] = await stack.runs_of_event(event_id)
    await stack.wait_status(run["id"], ("WAITING",))
    assert run["id"] in (await stack.http.get(f"{stack.engine_url}{location}")).text

    # Cancel it: list and detail both say cancelled; a second cancel is a no-op.
    location = await post_form(stack, f"/runs/{run['id']}/cancel", {})
    assert flash(location)["flash"] == "Cancelled"
    detail = await stack.wait_status(run["id"], ("CANCELLED",))
    assert detail["active"] is False
    page = (await stack.http.get(f"{stack.engine_url}/runs/{run['id']}")).text
    assert 'id="run-reason">cancelled by API<' in page
    rows = (await stack.http.get(f"{stack.engine_url}/runs", headers={"accept": "application/json"})).json()
    assert {r["id"]: r["status"] for r in rows["runs"]}[run["id"]] == "CANCELLED"
    assert flash(await post_form(stack, f"/runs/{run['id']}/cancel", {}))["flash"] == "The run had already ended"

    # Rerun: a new run of the same function with the same trigger, linked to the old one.
    location = await post_form(stack, f"/runs/{run['id']}/rerun", {})
    new_id = urlsplit(location).path.rsplit("/", 1)[-1]
    assert new_id != run["id"]
    rerun = await stack.wait_status(new_id, ("WAITING",))
    assert rerun["run"]["rerun_of"] == run["id"]
    assert rerun["run"]["events"][0]["id"] == detail["run"]["events"][0]["id"]

    # Invoke with a JSON payload; bad JSON comes back as an error, not a 500.
    bad = await post_form(stack, f"/functions/{stack.fn('hello')}/invoke", {"data": "{not json"})
    assert "not JSON" in flash(bad)["error"]
    location = await post_form(stack, f"/functions/{stack.fn('hello')}/invoke", {"data": '{"name": "bo"}'})
    invoked = await stack.wait_status(urlsplit(location).path.rsplit("/", 1)[-1], ("COMPLETED",))
    assert invoked["output"] == {"greeting": "hello bo"}
    assert invoked["run"]["events"][0]["name"] == "inngest/function.invoked"

    # Sync now; a URL that does not answer is an error message.
    assert flash(await post_form(stack, "/apps/sync", {"url": stack.app_url}))["flash"].startswith("Synced")
    assert "error" in flash(await post_form(stack, "/apps/sync", {"url": "http://127.0.0.1:9/api/inngest"}))
    assert "error" in flash(await post_form(stack, "/events/send", {"name": "", "data": "{}"}))
