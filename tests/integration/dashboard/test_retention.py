"""Retention prunes finished runs and old events in batches, and keeps what is recent or still running."""

from __future__ import annotations

from pathlib import Path

from marketing_agent.engine import EngineConfig, create_engine_app
from marketing_agent.engine._ids import new_ulid, now_ms
from marketing_agent.engine.dashboard.retention import DAY_MS, Retention
from marketing_agent.engine.service import EngineService
from marketing_agent.engine.store import inspect as si


def run_row(at: int, status: str, event_id: str) -> dict[str, object]:
    return {"id": new_ulid(at), "function_id": "app-fn", "app_id": "app", "event_id": event_id,
            "events": [{"name": "demo/x", "data": {}}], "status": status, "queued_at": at}  # fmt: skip


async def test_prunes_old_finished_runs_and_events_only(database_url: str, tmp_path: Path) -> None:
    config = EngineConfig(database_url=database_url, workers=False, cron=False, retention_days=7)
    app = create_engine_app(config)
    async with app.router.lifespan_context(app):
        svc: EngineService = app.state.engine
        store = svc.store
        now = now_ms()
        old, recent = now - 10 * DAY_MS, now - 1 * DAY_MS
        old_events = [new_ulid(old) for _ in range(3)]
        async with store.transaction() as tx:
            for eid in old_events:
                await store.insert_event(tx, eid, "demo/x", {"name": "demo/x", "data": {}}, None, old, old)
            await store.insert_event(tx, "recent-event", "demo/x", {"name": "demo/x"}, None, recent, recent)
        old_runs = [run_row(old + i, "COMPLETED", old_events[0]) for i in range(25)]
        await si.bulk_insert_runs(store, old_runs)
        await si.bulk_insert_runs(store, [run_row(recent, "FAILED", "recent-event")])
        # An old run that never finished keeps its event.
        still_running = run_row(old, "RUNNING", old_events[1])
        await si.bulk_insert_runs(store, [still_running])
        async with store.transaction() as tx:
            await tx.execute("UPDATE runs SET ended_at = NULL WHERE id = ?", still_running["id"])
        line = {"step": "work", "attempt": 0, "ts": old, "level": "INFO", "logger": "x", "message": "hi"}
        await si.insert_logs(store, str(old_runs[0]["id"]), [line])

        retention = Retention(svc, config)
        retention.batch = 7  # several batches
        pruned = await retention.run_once()
        assert (pruned.runs, pruned.events) == (25, 2)
        assert await store.get_run(str(old_runs[3]["id"])) is None
        assert await si.logs_for_run(store, str(old_runs[0]["id"])) == []
        assert await store.get_run(str(still_running["id"])) is not None
        assert await store.get_event(old_events[1]) is not None
        assert await store.get_event("recent-event") is not None
        assert await store.count_runs() == 2
        async with store._read() as c:
            assert (await c.fetchrow("SELECT COUNT(*) AS n FROM steps"))["n"] == 2
            assert (await c.fetchrow("SELECT COUNT(*) AS n FROM attempts"))["n"] == 2
        again = await retention.run_once()
        assert (again.runs, again.events) == (0, 0)


async def test_zero_days_keeps_everything(tmp_path: Path) -> None:
    config = EngineConfig(database_url=f"sqlite:///{tmp_path / 'e.db'}", workers=False, cron=False, retention_days=0)
    app = create_engine_app(config)
    async with app.router.lifespan_context(app):
        retention = Retention(app.state.engine, config)
        retention.start()
        assert retention._task is None
