"""Flow-control state lives in the store: throttled runs and a pending debounce survive an engine restart."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import inngest

from integration.engine.harness import EngineClient, engine_in_process, make_client, sdk_app

#: Long enough that the engine is stopped before the 2nd start and before the debounce fires.
PERIOD = 3
STARTS: list[float] = []
DEBOUNCED: list[int] = []
_lock = threading.Lock()


def build(client: inngest.Inngest) -> list[inngest.Function[Any]]:
    @client.create_function(
        fn_id="paced", trigger=inngest.TriggerEvent(event="restart/paced"),
        throttle=inngest.Throttle(limit=1, period=timedelta(seconds=PERIOD), burst=0),
    )  # fmt: skip
    async def paced(ctx: inngest.Context) -> None:
        with _lock:
            STARTS.append(time.time())  # the engine's clock: wall time

    @client.create_function(
        fn_id="quiet", trigger=inngest.TriggerEvent(event="restart/quiet"),
        debounce=inngest.Debounce(period=timedelta(seconds=PERIOD)),
    )  # fmt: skip
    async def quiet(ctx: inngest.Context) -> None:
        with _lock:
            DEBOUNCED.append(ctx.event.data["n"])

    return [paced, quiet]


def _completed(engine: EngineClient, fn: str) -> int:
    res = engine.http.get("/v1/runs", params={"function_id": f"restart-app-{fn}", "status": "COMPLETED"})
    return len(res.json()["data"])


def test_throttle_and_debounce_survive_a_restart(database_url: str) -> None:
    STARTS.clear()
    DEBOUNCED.clear()
    first_engine = engine_in_process(database_url)
    first = first_engine.__enter__()
    client = make_client(first.url, "restart-app")
    with sdk_app(client, build(client)) as url:  # the app outlives the first engine
        try:
            first.sync(url)
            sent = time.time()
            for _ in range(3):
                first.send("restart/paced")
            res = first.http.post("/e/test-key", json=[{"name": "restart/quiet", "data": {"n": n}} for n in (1, 2)])
            assert res.status_code == 200, res.text
        finally:
            first_engine.__exit__(None, None, None)
        # Stopped before the throttle released the 2nd and 3rd runs and before the debounce fired.
        assert len(STARTS) <= 1
        assert DEBOUNCED == []
        with engine_in_process(database_url) as second:
            deadline = time.monotonic() + 30 + 3 * PERIOD
            while time.monotonic() < deadline and (_completed(second, "paced") < 3 or _completed(second, "quiet") < 1):
                time.sleep(0.05)
            assert _completed(second, "paced") == 3
    assert DEBOUNCED == [2]
    assert len(STARTS) == 3
    # Paced from the first event, across the restart (ms rounding aside).
    assert all(start >= sent + k * PERIOD - 0.002 for k, start in enumerate(sorted(STARTS)))
