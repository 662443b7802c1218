"""Alerts: recorded once per dedup key (``skill-health:<skill>:<day>``, ``stuck-run:<run id>``)."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from marketing_agent.db.enums import AlertKind, SkillRunStatus
from marketing_agent.db.models import AlertRow, SkillRunRow
from marketing_agent.db.session import Database
from marketing_agent.db.types import utcnow
from marketing_agent.errors import NotFound
from marketing_agent.services.records import Alert, SkillRun, StuckRunReport

logger = logging.getLogger(__name__)


async def insert_alert_once(
    session: AsyncSession, *, kind: str, key: str, message: str, details: dict[str, Any]
) -> tuple[AlertRow, bool]:
    """The alert with ``key``, inserted when new; the flag says whether this call created it."""
    existing = await session.scalar(select(AlertRow).where(AlertRow.key == key))
    if existing is not None:
        return existing, False
    row = AlertRow(id=uuid.uuid4(), kind=kind, key=key, message=message, details=details, delivered_channels=[])
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        # Another worker recorded the same key between our read and insert: theirs is the one.
        existing = await session.scalar(select(AlertRow).where(AlertRow.key == key))
        if existing is None:
            raise
        return existing, False
    logger.warning("alert recorded", extra={"alert_kind": kind, "alert_key": key})
    return row, True


async def find_stuck_runs(db: Database, threshold: timedelta, *, now: datetime | None = None) -> list[SkillRun]:
    """Runs ``running`` for longer than ``threshold``."""
    cutoff = (now or utcnow()) - threshold
    async with db.transaction() as session:
        rows = (
            await session.scalars(
                select(SkillRunRow)
                .where(SkillRunRow.status == SkillRunStatus.RUNNING.value, SkillRunRow.started_at < cutoff)
                .order_by(SkillRunRow.started_at)
            )
        ).all()
    return [SkillRun.of(row) for row in rows]


async def alert_stuck_runs(
    db: Database,
    threshold: timedelta,
    *,
    now: datetime | None = None,
    api_url: str | None = None,
    recorded_by: str | None = None,
) -> StuckRunReport:
    """Find stuck runs and record one alert per run — the first time only, not on every cron tick.

    ``recorded_by`` (the monitor's function run id) is stored on each new alert, and ``undelivered_alerts``
    holds the new alerts plus those the same ``recorded_by`` recorded earlier that no channel has got yet:
    the step that recorded them may have crashed before its result was stored, and its retry must still
    deliver them. Another function run (a concurrent tick) never gets them, so never sends them twice.
    """
    stuck = await find_stuck_runs(db, threshold, now=now)
    new_alerts: list[Alert] = []
    undelivered: list[Alert] = []
    async with db.transaction() as session:
        for run in stuck:
            details: dict[str, Any] = {
                "runId": str(run.id),
                "skillName": run.skill_name,
                "userId": str(run.user_id),
                "startedAt": run.started_at.isoformat() if run.started_at else None,
                "engineRunId": run.engine_run_id,
            }
            if api_url:
                details["link"] = f"{api_url.rstrip('/')}/api/v1/runs/{run.id}"
            if recorded_by:
                details["recordedBy"] = recorded_by
            row, created = await insert_alert_once(
                session,
                kind=AlertKind.STUCK_RUN.value,
                key=f"{AlertKind.STUCK_RUN.value}:{run.id}",
                message=f"run {run.id} ({run.skill_name}) has been running for more than {threshold}",
                details=details,
            )
            await session.flush()
            if created:
                new_alerts.append(Alert.of(row))
            ours = created or (recorded_by is not None and (row.details or {}).get("recordedBy") == recorded_by)
            if ours and not row.delivered_channels:
                undelivered.append(Alert.of(row))
    return StuckRunReport(stuck_runs=stuck, new_alerts=new_alerts, undelivered_alerts=undelivered)


async def mark_alert_delivered(db: Database, alert_id: uuid.UUID | str, channel: str) -> Alert:
    """Note that ``channel`` got the alert (so a retried delivery step can skip channels already done)."""
    key = alert_id if isinstance(alert_id, uuid.UUID) else uuid.UUID(str(alert_id))
    async with db.transaction() as session:
        row = await session.get(AlertRow, key)
        if row is None:
            raise NotFound("alert not found")
        if channel not in (row.delivered_channels or []):
            row.delivered_channels = [*(row.delivered_channels or []), channel]
            await session.flush()
        return Alert.of(row)


async def get_alert(db: Database, alert_id: uuid.UUID | str) -> Alert:
    key = alert_id if isinstance(alert_id, uuid.UUID) else uuid.UUID(str(alert_id))
    async with db.transaction() as session:
        row = await session.get(AlertRow, key)
        if row is None:
            raise NotFound("alert not found")
        return Alert.of(row)


async def list_alerts(db: Database, *, limit: int = 50) -> list[Alert]:
    async with db.transaction() as session:
        rows = (await session.scalars(select(AlertRow).order_by(AlertRow.created_at.desc()).limit(limit))).all()
    return [Alert.of(row) for row in rows]
