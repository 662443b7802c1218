"""Skill detection for a user's request: the catalogue from the skills table, the user's clients, and the
one :class:`SkillDetector` (``agent.detect``) — shared by ``POST /api/v1/detect``, ``"skillName": "auto"``
and the Telegram bot."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from marketing_agent.agent.detect import ClientName, Detection, SkillDetector, SkillProfile
from marketing_agent.db.models import ClientRow
from marketing_agent.db.session import Database
from marketing_agent.errors import SkillNotDetected, ValidationFailed
from marketing_agent.services.events import EventSender
from marketing_agent.services.records import SkillRun
from marketing_agent.services.runs import MESSAGE_MAX, create_run
from marketing_agent.services.skills import list_skills

#: The ``skillName`` that asks for detection instead of naming a skill.
AUTO_SKILL = "auto"


async def skill_profiles(db: Database) -> list[SkillProfile]:
    """The enabled skills, as detection sees them."""
    return [SkillProfile(s.name, s.description, tuple(s.trigger_keywords)) for s in await list_skills(db)]


async def client_names(db: Database, user_id: uuid.UUID) -> list[ClientName]:
    """All of the user's clients (ids, names, slugs): what a request may name."""
    query = select(ClientRow.id, ClientRow.name, ClientRow.slug).where(ClientRow.user_id == user_id)
    async with db.transaction() as session:
        rows = (await session.execute(query.order_by(ClientRow.created_at, ClientRow.id))).all()
    return [ClientName(row.id, row.name, row.slug) for row in rows]


async def detect_skill(
    db: Database, detector: SkillDetector, user_id: uuid.UUID, message: str, *, use_model: bool = True
) -> Detection:
    """Which skill (and client, and kind of output) the user's message asks for.

    ``use_model`` False stops after the keywords (for callers that only want the client or the
    candidates, cheaply)."""
    if not message.strip() or len(message) > MESSAGE_MAX:
        raise ValidationFailed("message must be 1-10,000 characters", details=[{"field": "message"}])
    skills = await skill_profiles(db)
    clients = await client_names(db, user_id)
    if not use_model:
        return await SkillDetector(None).detect(message, skills, clients)
    return await detector.detect(message, skills, clients)


def candidates_of(detection: Detection) -> list[dict[str, Any]]:
    return [{"skill": c.skill, "score": c.score} for c in detection.candidates]


async def create_detected_run(
    db: Database,
    events: EventSender,
    detector: SkillDetector,
    user_id: uuid.UUID,
    *,
    message: str,
    client_id: uuid.UUID | None = None,
    options: dict[str, Any] | None = None,
) -> tuple[SkillRun, Detection]:
    """Detect, then create the run (``"skillName": "auto"``).

    The run gets the message without an explicit ``/skill`` prefix, and the detected client unless one
    was given. Nothing confident → :class:`SkillNotDetected` with the candidates and no run.
    """
    detection = await detect_skill(db, detector, user_id, message)
    if detection.skill is None:
        raise SkillNotDetected(
            "no skill is a confident match for this message; choose one of the candidates as skillName",
            details={
                "method": detection.method.value,
                "confidence": detection.confidence,
                "candidates": candidates_of(detection),
            },
        )
    run = await create_run(
        db,
        events,
        user_id,
        skill_name=detection.skill,
        message=detection.request,
        client_id=client_id if client_id is not None else detection.client_id,
        options=options,
    )
    return run, detection
