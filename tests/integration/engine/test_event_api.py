"""The event API: validation and limits, durable ids (seeded), user-id dedup, wildcard and ``if`` triggers."""

from __future__ import annotations

import base64
import time

import httpx
import inngest

from integration.engine.harness import engine_and_app

runs_seen: list[str] = []


def build(client: inngest.Inngest) -> list[inngest.Function[object]]:
    @client.create_function(
        fn_id="matcher",
        trigger=[
            inngest.TriggerEvent(event="shop/*"),
            inngest.TriggerEvent(event="t/cond", expression="event.data.amount > 10"),
        ],
    )
    async def matcher(ctx: inngest.Context) -> str:
        runs_seen.append(ctx.event.name)
        return ctx.event.name

    return [matcher]


def test_event_api(database_url: str) -> None:
    with engine_and_app(database_url, "events-app", build) as (engine, _):
        http: httpx.Client = engine.http
        assert http.post("/e/k", content=b"not json", headers={"content-type": "application/json"}).status_code == 400
        assert http.post("/e/k", json={"data": {}}).status_code == 400  # no name
        assert http.post("/e/k", json={"name": "x", "data": [1]}).status_code == 400  # data not an object
        big = {"name": "x", "data": {"blob": "a" * 300_000}}
        res = http.post("/e/k", json=big)
        assert res.status_code == 413
        assert "limit" in res.json()["error"]

        seed = f"{int(time.time() * 1000)},{base64.b64encode(b'0123456789').decode()}"
        body = [{"name": "shop/order", "data": {"n": 1}}, {"name": "t/cond", "data": {"amount": 5}}]
        first = http.post("/e/k", json=body, headers={"x-inngest-event-id-seed": seed}).json()
        again = http.post("/e/k", json=body, headers={"x-inngest-event-id-seed": seed}).json()
        assert first["status"] == 200
        assert first["ids"] == again["ids"]
        order_runs = engine.runs_of_event(first["ids"][0])
        assert len(order_runs) == 1  # the resend did not start a second run
        time.sleep(0.3)
        assert engine.http.get(f"/v1/events/{first['ids'][1]}").json()["data"]["runs"] == []  # if: amount > 10

        one = engine.send("t/cond", {"amount": 50}, id="order-77")
        two = engine.send("t/cond", {"amount": 50}, id="order-77")  # same user id within 24 h: deduplicated
        assert len(engine.runs_of_event(one)) == 1
        time.sleep(0.3)
        dup = engine.http.get(f"/v1/events/{two}").json()["data"]
        assert dup["duplicate"] is True
        assert dup["runs"] == []
