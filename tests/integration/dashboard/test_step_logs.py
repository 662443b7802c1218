"""The step-log endpoint's validation and limits, and the SDK side's best-effort shipping."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx

from marketing_agent.engine import EngineConfig, create_engine_app
from marketing_agent.engine._ids import new_ulid, now_ms
from marketing_agent.engine.http.step_logs import MAX_LINES_PER_REQUEST, MAX_MESSAGE_CHARS
from marketing_agent.engine.store import inspect as si
from marketing_agent.functions import step_logs
from support.net import free_port


async def test_endpoint_validates_and_stores(tmp_path: Path) -> None:
    app = create_engine_app(EngineConfig(database_url=f"sqlite:///{tmp_path / 'e.db'}", workers=False, cron=False))
    async with app.router.lifespan_context(app):
        store = app.state.engine.store
        run_id = new_ulid()
        async with store.transaction() as tx:
            await store.create_run(tx, run_id=run_id, function_id="f", app_id="a", event_id=None,
                                   events=[{"name": "x"}], now=now_ms())  # fmt: skip
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8288") as c:
            url = f"/v1/runs/{run_id}/logs"
            assert (
                await c.post(url, content=b"{nope", headers={"content-type": "application/json"})
            ).status_code == 400
            assert (await c.post(url, content=b"{}", headers={"content-type": "text/plain"})).status_code == 415
            assert (await c.post(url, json={"lines": "x"})).status_code == 400
            assert (await c.post("/v1/runs/01NOSUCHRUN0000000000000000/logs", json={"lines": []})).status_code == 404
            line = {"step": "s", "attempt": 1, "ts": now_ms(), "level": "INFO", "logger": "app", "message": "m"}
            lines = [line] * (MAX_LINES_PER_REQUEST + 10) + [{"message": 5}, "junk"]
            reply = await c.post(url, json={"lines": lines})
            assert reply.status_code == 201
            assert reply.json()["data"]["stored"] == MAX_LINES_PER_REQUEST
            long = {**line, "message": "y" * (MAX_MESSAGE_CHARS * 2), "attempt": -3, "ts": "soon"}
            assert (await c.post(url, json={"lines": [long]})).json()["data"]["stored"] == 1
        stored = await si.logs_for_run(store, run_id)
        assert len(stored) == MAX_LINES_PER_REQUEST + 1
        assert len(stored[-1]["message"]) == MAX_MESSAGE_CHARS
        assert stored[-1]["attempt"] == 0


async def test_shipping_to_an_engine_that_is_down_is_silent() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1/runs/r/logs"
    await step_logs._send(url, {}, [{"message": "m"}])  # must not raise


def test_capture_only_while_a_buffer_is_active() -> None:
    step_logs.install_capture()
    step_logs.install_capture()  # idempotent
    assert logging.getLogger().handlers.count(step_logs._HANDLER) == 1
    app_log = logging.getLogger("capture-test")
    app_log.setLevel(logging.INFO)
    buf = step_logs._Buffer(run_id="r", attempt=0)
    token = step_logs._current.set(buf)
    try:
        app_log.info("before execution")  # memoized replay: not captured
        buf.active = True
        app_log.info("during %s", "the step")
        logging.getLogger("httpx").warning("the shipping itself")
        try:
            raise ValueError("kaput")
        except ValueError:
            app_log.exception("it failed")
    finally:
        step_logs._current.reset(token)
    app_log.info("after the request")
    assert [line["message"].splitlines()[0] for line in buf.lines] == ["during the step", "it failed"]
    assert "ValueError: kaput" in buf.lines[1]["message"]
