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
