"""The real :class:`BotBackend`: every call is one use case of ``marketing_agent.services``."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from marketing_agent import services
from marketing_agent.agent.detect import Detection, LLMSkillClassifier, SkillDetector
from marketing_agent.bot.backend import (
    CreatedRun,
    DetectedSkill,
    LinkedUser,
    OutputContent,
    RunSummary,
    SkillSummary,
)
from marketing_agent.errors import InvalidApiKey, OutputNotFound, RunNotFound, WorkflowRunNotFound
from marketing_agent.services import Database, EventSender
from marketing_agent.settings import Settings
from marketing_agent.storage import ObjectStore, open_object_store

logger = logging.getLogger(__name__)


def _uuid(value: str, error: type[RunNotFound | OutputNotFound]) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise error("not found") from None  # a forged or stale button


class ServicesBotBackend:
    def __init__(
        self, db: Database, store: ObjectStore, events: EventSender, detector: SkillDetector | None = None
    ) -> None:
        self._db = db
        self._store = store
        self._events = events
        # Keywords only unless given one with a model step (``open`` and ``up`` give the configured one).
        self._detector = detector or SkillDetector()

    @classmethod
    @asynccontextmanager
    async def open(cls, settings: Settings) -> AsyncIterator[ServicesBotBackend]:
        """For a bot process of its own: the app database, object storage and the event API."""
        db = Database(settings.resolved_database_url)
        detector = SkillDetector(LLMSkillClassifier.from_settings(settings))
        try:
            events = services.InngestEventSender(services.make_inngest_client(settings))
            yield cls(db, open_object_store(settings), events, detector)
        finally:
            await detector.aclose()
            await db.dispose()

    async def link_chat(self, chat_id: int, api_key: str) -> LinkedUser | None:
        try:
            user = await services.resolve_user_by_api_key(self._db, api_key)
        except InvalidApiKey:
            return None
        await services.link_telegram_chat(self._db, user.id, chat_id)
        return LinkedUser(user_id=str(user.id), email=user.email)

    async def unlink_chat(self, chat_id: int) -> bool:
        return await services.unlink_telegram_chat(self._db, chat_id)

    async def user_for_chat(self, chat_id: int) -> LinkedUser | None:
        user = await services.user_for_telegram_chat(self._db, chat_id)
        return LinkedUser(user_id=str(user.id), email=user.email) if user is not None else None

    async def list_skills(self) -> Sequence[SkillSummary]:
        return [
            SkillSummary(s.name, s.description, tuple(s.trigger_keywords), s.category)
            for s in sorted(await services.list_skills(self._db), key=lambda s: s.name)
        ]

    async def detect_skill(self, user_id: str, text: str, *, use_model: bool = True) -> DetectedSkill:
        detection = await services.detect_skill(self._db, self._detector, uuid.UUID(user_id), text, use_model=use_model)
        return detected_skill(detection)

    async def create_run(
        self,
        user_id: str,
        skill: str,
        message: str,
        chat_id: int,
        message_id: int,
        client_id: str | None = None,
    ) -> CreatedRun:
        # options.telegram tells notify-completion which message to edit (functions/adapters.py).
        run = await services.create_run(
            self._db,
            self._events,
            uuid.UUID(user_id),
            skill_name=skill,
            message=message,
            client_id=uuid.UUID(client_id) if client_id is not None else None,
            options={"telegram": {"chatId": chat_id, "messageId": message_id}},
        )
        return CreatedRun(run_id=str(run.id), skill=run.skill_name)

    async def recent_runs(self, user_id: str, limit: int = 5) -> Sequence[RunSummary]:
        page = await services.list_runs(self._db, uuid.UUID(user_id), limit=limit)
        return [
            RunSummary(
                run_id=str(run.id),
                skill=run.skill_name,
                status=run.status.value,
                queued_at=run.queued_at,
                title=run.output.title if run.output else None,
                error=run.error_message,
            )
            for run in page.items
        ]

    async def get_output(self, user_id: str, run_id: str) -> OutputContent:
        owner = uuid.UUID(user_id)
        run = await services.get_run(self._db, owner, _uuid(run_id, RunNotFound))
        if run.output is None:
            raise OutputNotFound("this run has no output yet")
        content = await services.get_output_content(self._db, self._store, owner, run.output.id)
        filename = f"{run.skill_name}-{run.output.storage_key.rsplit('/', 1)[-1]}"
        return OutputContent(
            output_id=str(run.output.id),
            run_id=str(run.id),
            title=run.output.title,
            content=content.decode("utf-8", errors="replace"),
            filename=filename if filename.endswith(".md") else f"{filename}.md",
        )

    async def record_feedback(self, user_id: str, output_id: str, score: int) -> None:
        # create_feedback stores the rating and sends feedback.process.
        await services.create_feedback(
            self._db,
            self._events,
            uuid.UUID(user_id),
            output_id=_uuid(output_id, OutputNotFound),
            overall_score=score,
            source=services.FeedbackSource.TELEGRAM.value,
        )

    async def review_stage(
        self, user_id: str, workflow_run_id: str, position: int, decision: str, notes: str | None = None
    ) -> str:
        user = uuid.UUID(user_id)
        run = await services.get_workflow_run(self._db, user, workflow_run_id)
        stage = next((s for s in run.stages if s.position == position), None)
        if stage is None:
            raise WorkflowRunNotFound("that stage no longer exists")
        await services.review_stage(
            self._db, self._events, user, run.id, stage.name, services.ReviewDecision(decision), notes
        )
        return stage.name


def detected_skill(detection: Detection) -> DetectedSkill:
    return DetectedSkill(
        skill=detection.skill,
        candidates=tuple(c.skill for c in detection.candidates),
        request=detection.request,
        client_id=str(detection.client_id) if detection.client_id is not None else None,
    )
