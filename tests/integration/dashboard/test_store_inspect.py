"""store_inspect on SQLite and PostgreSQL: keyset pagination, time ranges, log caps."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from marketing_agent.engine._ids import new_ulid, now_ms
from marketing_agent.engine.store import Store
from marketing_agent.engine.store import inspect as si


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    s = await Store.open(database_url)  # the schema history includes the dashboard's table (version 4)
    await s.migrate()  # idempotent
    try:
        yield s
    finally:
        await s.close()


async def test_keyset_pages_cover_every_run_once(store: Store) -> None:
    base = now_ms() - 1_000_000
    rows = [{"id": new_ulid(base + i * 10), "function_id": "f" if i % 2 else "g", "app_id": "a", "events": [{"i": i}],
             "status": "COMPLETED" if i % 3 else "FAILED", "queued_at": base + i * 10} for i in range(120)]  # fmt: skip
    await si.bulk_insert_runs(store, rows)
    seen: list[str] = []
    cursor = None
    while True:
        page = await si.list_runs(store, cursor=cursor, limit=50)
        seen += [r["id"] for r in page]
        if len(page) < 50:
            break
        cursor = page[-1]["id"]
    assert seen == sorted((str(r["id"]) for r in rows), reverse=True)
    failed = await si.list_runs(store, statuses=["FAILED"], function_id="g", limit=200)
    assert {r["id"] for r in failed} == {r["id"] for i, r in enumerate(rows) if i % 3 == 0 and i % 2 == 0}
    window = await si.list_runs(store, since=base + 100, until=base + 200, limit=200)
    assert [r["queued_at"] for r in window] == list(range(base + 190, base + 99, -10))


async def test_logs_are_capped_per_run(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(si, "MAX_LOG_LINES_PER_RUN", 5)
    line = {"step": "s", "attempt": 0, "ts": now_ms(), "level": "INFO", "logger": "x", "message": "m"}
    assert await si.insert_logs(store, "run-1", [line] * 3) == 3
    assert await si.insert_logs(store, "run-1", [line] * 3) == 2
    assert len(await si.logs_for_run(store, "run-1")) == 5
