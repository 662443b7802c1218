"""Run lifecycle use cases the skill-execute function calls, one per step. Each is idempotent: a step that
is re-run after a crash or retry finds the work done and returns the same answer.

State changes are conditional UPDATEs (``… WHERE status IN (…)``), atomic on SQLite and PostgreSQL alike,
so a run never leaves a terminal state and its metrics are counted exactly once.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from marketing_agent.db.enums import SkillRunStatus
from marketing_agent.db.models import OutputRow, SkillRunRow
from marketing_agent.db.session import Database
from marketing_agent.db.types import utcnow
from marketing_agent.errors import Conflict, RunNotFound
from marketing_agent.services._common import as_uuid
from marketing_agent.services._metrics import add_to_metrics
from marketing_agent.services.records import Output, SkillRun
from marketing_agent.services.runs import get_skill_run

logger = logging.getLogger(__name__)

PREVIEW_CHARS = 500
_ACTIVE = (SkillRunStatus.QUEUED.value, SkillRunStatus.RUNNING.value)


async def mark_run_running(db: Database, run_id: uuid.UUID | str, *, engine_run_id: str | None = None) -> SkillRun:
    """queued → running (stamps started_at once), claimed by the function run ``engine_run_id``.

    Returns the run as it is now. The caller may go ahead only when :func:`run_claimed_by` says the run is
    its own: a cancelled run stays cancelled, and a run another function run claimed (a second
    ``skill.execute`` for the same ``runId`` under another event id) is left to that one — one LLM call,
    one bill.

    A **new attempt**: a failed run carried by a function run other than the one that recorded it — an engine
    replay or rerun (docs/engine.md § Replay) — goes back to running on the same row: error and completion
    time cleared, ``started_at`` restamped (the stuck-run monitor measures from it), ``engine_run_id`` now the
    new function run. Completed and cancelled runs are never reopened (a user's cancel stands), nor is a run
    that failed before any function run carried it (its event never reached the engine, as far as the user was
    told).
    """
    key = as_uuid(run_id, "runId")
    values: dict[str, object] = {"status": SkillRunStatus.RUNNING.value, "started_at": utcnow()}
    if engine_run_id:
        values["engine_run_id"] = engine_run_id
    async with db.transaction() as session:
        if engine_run_id:
            await session.execute(
                update(SkillRunRow)
                .where(
                    SkillRunRow.id == key,
                    SkillRunRow.status == SkillRunStatus.FAILED.value,
                    SkillRunRow.engine_run_id.is_not(None),
                    SkillRunRow.engine_run_id != engine_run_id,
                )
                .values(
                    status=SkillRunStatus.RUNNING.value,
                    error_message=None,
                    completed_at=None,
                    started_at=utcnow(),
                    engine_run_id=engine_run_id,
                )
            )
        # One conditional UPDATE: of two function runs racing for a queued run exactly one wins.
        await session.execute(
            update(SkillRunRow)
            .where(SkillRunRow.id == key, SkillRunRow.status == SkillRunStatus.QUEUED.value)
            .values(**values)
        )
        if engine_run_id:
            # A run made running before it was linked (none is, today) is claimed by the first to ask.
            await session.execute(
                update(SkillRunRow)
                .where(SkillRunRow.id == key, SkillRunRow.engine_run_id.is_(None))
                .values(engine_run_id=engine_run_id)
            )
    return await get_skill_run(db, key)


def run_claimed_by(run: SkillRun, engine_run_id: str) -> bool:
    """True when ``run`` is running for the function run ``engine_run_id`` (and so may go ahead)."""
    return run.status is SkillRunStatus.RUNNING and run.engine_run_id == engine_run_id


async def record_output(
    db: Database,
    run_id: uuid.UUID | str,
    *,
    storage_key: str,
    title: str,
    content: str,
    format: str = "markdown",
) -> Output:
    """The run's output row (preview = first 500 characters, size in UTF-8 bytes). One per run: a second
    call returns the row the first one made.

    Only a queued or running run gets one: a run cancelled (or otherwise ended) while its LLM call ran raises
    :class:`Conflict` and gets no output. The run row is locked while checking, so a cancel either lands
    before (no output) or waits for the output and then finds the run with it.
    """
    key = as_uuid(run_id, "runId")
    async with db.transaction() as session:
        run = await session.get(SkillRunRow, key, with_for_update=True)
        if run is None:
            raise RunNotFound("run not found")
        existing = await session.scalar(select(OutputRow).where(OutputRow.run_id == key))
        if existing is not None:
            return Output.of(existing, run)
        if run.status not in _ACTIVE:
            raise Conflict(f"run is {run.status}; no output is recorded", details={"status": run.status})
        row = OutputRow(
            id=uuid.uuid4(),
            run_id=key,
            storage_key=storage_key,
            format=format,
            title=title[:500],
            preview=content[:PREVIEW_CHARS],
            size_bytes=len(content.encode("utf-8")),
        )
        try:
            async with session.begin_nested():
                session.add(row)
        except IntegrityError:
            # A concurrent attempt of the same step won the insert: answer with its row.
            existing = await session.scalar(select(OutputRow).where(OutputRow.run_id == key))
            if existing is None:
                raise
            return Output.of(existing, run)
        return Output.of(row, run)


async def mark_run_completed(
    db: Database,
    run_id: uuid.UUID | str,
    *,
    tokens_input: int,
    tokens_output: int,
    cost_usd: float,
    model: str | None = None,
    warnings: Sequence[str] = (),
) -> SkillRun:
    """queued/running → completed with usage; the skill's metrics count it once."""
    key = as_uuid(run_id, "runId")
    async with db.transaction() as session:
        result = await session.execute(
            update(SkillRunRow)
            .where(SkillRunRow.id == key, SkillRunRow.status.in_(_ACTIVE))
            .values(
                status=SkillRunStatus.COMPLETED.value,
                tokens_input=tokens_input,
                tokens_output=tokens_output,
                cost_usd=cost_usd,
                model=model,
                warnings=list(warnings),
                completed_at=utcnow(),
            )
        )
        if result.rowcount:  # type: ignore[attr-defined]
            skill_name = await session.scalar(select(SkillRunRow.skill_name).where(SkillRunRow.id == key))
            if skill_name is not None:
                await add_to_metrics(
                    session,
                    skill_name,
                    runs_completed=1,
                    tokens_input_total=tokens_input,
                    tokens_output_total=tokens_output,
                    cost_usd_total=cost_usd,
                )
    return await get_skill_run(db, key)


async def mark_run_failed(
    db: Database,
    run_id: uuid.UUID | str,
    error: str,
    *,
    tokens_input: int | None = None,
    tokens_output: int | None = None,
    cost_usd: float | None = None,
) -> SkillRun:
    """queued/running → failed with the reason and what the LLM calls it made cost (a run stopped after some
    turns was billed for them); a run already finished (or cancelled) is left alone."""
    key = as_uuid(run_id, "runId")
    async with db.transaction() as session:
        values: dict[str, object] = {
            "status": SkillRunStatus.FAILED.value,
            "error_message": error[:10_000],
            "completed_at": utcnow(),
        }
        if tokens_input is not None:
            values["tokens_input"] = tokens_input
        if tokens_output is not None:
            values["tokens_output"] = tokens_output
        if cost_usd is not None:
            values["cost_usd"] = cost_usd
        result = await session.execute(
            update(SkillRunRow).where(SkillRunRow.id == key, SkillRunRow.status.in_(_ACTIVE)).values(**values)
        )
        if result.rowcount:  # type: ignore[attr-defined]
            skill_name = await session.scalar(select(SkillRunRow.skill_name).where(SkillRunRow.id == key))
            if skill_name is not None:
                await add_to_metrics(session, skill_name, runs_failed=1)
    logger.info("run failed", extra={"run_id": str(key)})
    return await get_skill_run(db, key)


async def record_run_trace(db: Database, run_id: uuid.UUID | str, trace: dict[str, Any]) -> None:
    """Keep the agent loop's turns and tool calls on the run; the last recorded trace wins (a replay
    records the same one)."""
    key = as_uuid(run_id, "runId")
    async with db.transaction() as session:
        result = await session.execute(update(SkillRunRow).where(SkillRunRow.id == key).values(agent_trace=trace))
        if not result.rowcount:  # type: ignore[attr-defined]
            raise RunNotFound(f"run {key} not found", details={"runId": str(key)})
