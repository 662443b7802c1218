"""Outputs as users see them: list, read, fetch the markdown, get a download link."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from marketing_agent.db.models import OutputRow, SkillRunRow
from marketing_agent.db.session import Database
from marketing_agent.db.types import utcnow
from marketing_agent.errors import ObjectNotFound, OutputNotFound
from marketing_agent.services._common import check_page, count
from marketing_agent.services.records import Output, Page
from marketing_agent.storage import ObjectStore


@dataclass(frozen=True, slots=True)
class DownloadLink:
    url: str | None  # None: the store has no signed URLs (local folder); serve /outputs/{id}/content instead
    expires_at: datetime | None
    filename: str


async def list_outputs(
    db: Database,
    user_id: uuid.UUID,
    *,
    skill_name: str | None = None,
    client_id: uuid.UUID | None = None,
    limit: int = 20,
    offset: int = 0,
) -> Page[Output]:
    check_page(limit, offset)
    query = (
        select(OutputRow, SkillRunRow)
        .join(SkillRunRow, SkillRunRow.id == OutputRow.run_id)
        .where(SkillRunRow.user_id == user_id)
    )
    if skill_name is not None:
        query = query.where(SkillRunRow.skill_name == skill_name)
    if client_id is not None:
        query = query.where(SkillRunRow.client_id == client_id)
    async with db.transaction() as session:
        total = await count(session, query)
        rows = (
            await session.execute(query.order_by(OutputRow.created_at.desc(), OutputRow.id).limit(limit).offset(offset))
        ).all()
    return Page([Output.of(output, run) for output, run in rows], total, limit, offset)


async def get_output(db: Database, user_id: uuid.UUID, output_id: uuid.UUID) -> Output:
    """A user's output; another user's is reported like a missing one."""
    async with db.transaction() as session:
        found = (
            await session.execute(
                select(OutputRow, SkillRunRow)
                .join(SkillRunRow, SkillRunRow.id == OutputRow.run_id)
                .where(OutputRow.id == output_id)
            )
        ).first()
    if found is None or found[1].user_id != user_id:
        raise OutputNotFound("output not found")
    return Output.of(found[0], found[1])


async def get_output_content(db: Database, store: ObjectStore, user_id: uuid.UUID, output_id: uuid.UUID) -> bytes:
    output = await get_output(db, user_id, output_id)
    try:
        return await store.get(output.storage_key)
    except ObjectNotFound as exc:
        raise OutputNotFound("the output's file is missing from storage") from exc


async def read_output_content(db: Database, store: ObjectStore, output_id: uuid.UUID) -> bytes:
    """An output's content with no owner check: only for a caller holding a valid signed link to it."""
    async with db.transaction() as session:
        row = await session.get(OutputRow, output_id)
    if row is None:
        raise OutputNotFound("output not found")
    try:
        return await store.get(row.storage_key)
    except ObjectNotFound as exc:
        raise OutputNotFound("the output's file is missing from storage") from exc


async def get_download_link(
    db: Database, store: ObjectStore, user_id: uuid.UUID, output_id: uuid.UUID, *, expires_in: int = 3600
) -> DownloadLink:
    output = await get_output(db, user_id, output_id)
    url = await store.download_url(output.storage_key, expires_in=expires_in)
    filename = output.storage_key.rsplit("/", 1)[-1]
    if output.skill_name:
        filename = f"{output.skill_name}-{filename}"
    expires_at = utcnow() + timedelta(seconds=expires_in) if url is not None else None
    return DownloadLink(url=url, expires_at=expires_at, filename=filename)
