from __future__ import annotations

from datetime import UTC, datetime

from marketing_agent.engine.execution.cron import next_fire, scheduled_event
from marketing_agent.engine.functions import CronSpec
from marketing_agent.engine.store import MIGRATIONS, Store


async def test_migrations_apply_once(database_url: str) -> None:
    store = await Store.open(database_url)
    try:
        first = await store.schema_version()
    finally:
        await store.close()
    again = await Store.open(database_url)  # a second start applies nothing twice
    try:
        assert await again.schema_version() == first == max(v for v, _ in MIGRATIONS)
        assert await again.queue_depth() == {"total": 0, "ready": 0, "leased": 0}
    finally:
        await again.close()


async def test_dashboard_tables_made_before_version_4_are_kept(database_url: str) -> None:
    """Before the one schema history, the dashboard created ``step_logs`` at start (IF NOT EXISTS); a database
    from then, with a log line in it, takes version 4 without losing the line."""
    store = await Store.open(database_url)
    try:
        async with store.transaction() as tx:
            await tx.execute("DELETE FROM engine_schema WHERE version = 4")
            await tx.execute(
                "INSERT INTO step_logs (id, run_id, step, attempt, ts, level, logger, message)"
                " VALUES ('l1', 'r1', 's', 0, 1, 'INFO', 'app', 'kept')"
            )
        await store.migrate()
        assert await store.schema_version() == max(v for v, _ in MIGRATIONS)
        async with store.transaction() as tx:
            row = await tx.fetchrow("SELECT message FROM step_logs WHERE id = 'l1'")
        assert row == {"message": "kept"}
    finally:
        await store.close()


def _ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def test_cron_next_fire_in_a_time_zone() -> None:
    spec = CronSpec.parse("TZ=Europe/Paris 0 9 * * *")
    after = _ms(datetime(2026, 7, 1, 6, 0, tzinfo=UTC))  # 08:00 in Paris (UTC+2 in summer)
    assert next_fire(spec, after) == _ms(datetime(2026, 7, 1, 7, 0, tzinfo=UTC))
    winter = _ms(datetime(2026, 1, 10, 9, 30, tzinfo=UTC))  # 10:30 in Paris: next is tomorrow 08:00 UTC
    assert next_fire(spec, winter) == _ms(datetime(2026, 1, 11, 8, 0, tzinfo=UTC))


def test_scheduled_event_shape() -> None:
    event = scheduled_event("*/5 * * * *", _ms(datetime(2026, 1, 1, tzinfo=UTC)))
    assert event["name"] == "inngest/scheduled.timer"
    assert event["data"] == {
        "cron": "*/5 * * * *",
        "scheduledAt": "2026-01-01T00:00:00.000Z",
        "fireAt": "2026-01-01T00:00:00.000Z",
    }
