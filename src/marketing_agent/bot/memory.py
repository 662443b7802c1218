"""An in-memory :class:`BotBackend` for tests and demos: users by API key, chats, runs, outputs."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from marketing_agent.agent.detect import SkillDetector, SkillProfile
from marketing_agent.bot.backend import (
    CreatedRun,
    DetectedSkill,
    LinkedUser,
    OutputContent,
    RunSummary,
    SkillSummary,
)
from marketing_agent.errors import OutputNotFound, RunNotFound, SkillNotFound, ValidationFailed


@dataclass
class MemoryRun:
    run_id: str
    user_id: str
    skill: str
    message: str
    chat_id: int
    message_id: int
    status: str = "queued"
    queued_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    output: OutputContent | None = None
    error: str | None = None
    client_id: str | None = None


@dataclass(frozen=True, slots=True)
class FinishedMemoryRun:
    """Shaped like the functions' ``RunNotice``, so it can be passed to ``notify_run_finished``."""

    run_id: str
    user_id: str
    skill_name: str
    status: str
    title: str | None = None
    preview: str | None = None
    output_id: str | None = None
    error: str | None = None
    telegram_chat_id: str | None = None
    telegram_message_id: int | None = None


@dataclass(frozen=True, slots=True)
class RecordedFeedback:
    user_id: str
    output_id: str
    score: int
    source: str = "telegram"


class InMemoryBotBackend:
    def __init__(
        self,
        skills: Sequence[SkillSummary] = (),
        users: dict[str, LinkedUser] | None = None,
        detector: SkillDetector | None = None,
    ) -> None:
        self.skills = list(skills)
        self.detector = detector or SkillDetector()  # keywords only unless given a model step
        self.users_by_key: dict[str, LinkedUser] = dict(users or {})
        self.links: dict[int, LinkedUser] = {}
        self.runs: dict[str, MemoryRun] = {}
        self.feedback: list[RecordedFeedback] = []
        self.processed_feedback: list[str] = []  # stands for the feedback.process events sent
        self.reviews: list[tuple[str, str, int, str, str | None]] = []  # user, workflow run, position, decision, notes
        self._ids = itertools.count(1)

    # --- BotBackend ---------------------------------------------------------------------------------
    async def link_chat(self, chat_id: int, api_key: str) -> LinkedUser | None:
        user = self.users_by_key.get(api_key)
        if user is not None:
            self.links[chat_id] = user
        return user

    async def unlink_chat(self, chat_id: int) -> bool:
        return self.links.pop(chat_id, None) is not None

    async def user_for_chat(self, chat_id: int) -> LinkedUser | None:
        return self.links.get(chat_id)

    async def list_skills(self) -> Sequence[SkillSummary]:
        return sorted(self.skills, key=lambda s: s.name)

    async def detect_skill(self, user_id: str, text: str, *, use_model: bool = True) -> DetectedSkill:
        profiles = [SkillProfile(s.name, s.description, s.trigger_keywords) for s in self.skills]
        detection = await (self.detector if use_model else SkillDetector()).detect(text, profiles)
        return DetectedSkill(detection.skill, tuple(c.skill for c in detection.candidates), detection.request)

    async def create_run(
        self,
        user_id: str,
        skill: str,
        message: str,
        chat_id: int,
        message_id: int,
        client_id: str | None = None,
    ) -> CreatedRun:
        if skill not in {s.name for s in self.skills}:
            raise SkillNotFound(f"skill {skill!r} not found")
        if not message.strip():
            raise ValidationFailed("message must be 1-10,000 characters")
        run_id = f"00000000-0000-4000-8000-{next(self._ids):012d}"
        self.runs[run_id] = MemoryRun(run_id, user_id, skill, message, chat_id, message_id, client_id=client_id)
        return CreatedRun(run_id=run_id, skill=skill)

    async def recent_runs(self, user_id: str, limit: int = 5) -> Sequence[RunSummary]:
        mine = [run for run in self.runs.values() if run.user_id == user_id]
        mine.sort(key=lambda run: run.queued_at, reverse=True)
        return [
            RunSummary(
                run_id=run.run_id,
                skill=run.skill,
                status=run.status,
                queued_at=run.queued_at,
                title=run.output.title if run.output else None,
                error=run.error,
            )
            for run in mine[:limit]
        ]

    async def get_output(self, user_id: str, run_id: str) -> OutputContent:
        run = self.runs.get(run_id)
        if run is None or run.user_id != user_id:
            raise RunNotFound("run not found")
        if run.output is None:
            raise OutputNotFound("this run has no output yet")
        return run.output

    async def review_stage(
        self, user_id: str, workflow_run_id: str, position: int, decision: str, notes: str | None = None
    ) -> str:
        """Records the review; the stage is named ``stage-<position>``."""
        self.reviews.append((user_id, workflow_run_id, position, decision, notes))
        return f"stage-{position}"

    async def record_feedback(self, user_id: str, output_id: str, score: int) -> None:
        owned = any(r.output and r.output.output_id == output_id and r.user_id == user_id for r in self.runs.values())
        if not owned:
            raise OutputNotFound("output not found")
        self.feedback.append(RecordedFeedback(user_id, output_id, score))
        self.processed_feedback.append(output_id)

    # --- test helpers -------------------------------------------------------------------------------
    def complete_run(self, run_id: str, *, title: str, content: str) -> FinishedMemoryRun:
        run = self.runs[run_id]
        output_id = f"10000000-0000-4000-8000-{next(self._ids):012d}"
        run.status = "completed"
        run.output = OutputContent(output_id, run_id, title, content, filename=f"{run.skill}-{run_id[-8:]}.md")
        return FinishedMemoryRun(
            run_id=run_id,
            user_id=run.user_id,
            skill_name=run.skill,
            status="completed",
            title=title,
            preview=content[:500],
            output_id=output_id,
            telegram_chat_id=str(run.chat_id),
            telegram_message_id=run.message_id,
        )

    def fail_run(self, run_id: str, error: str) -> FinishedMemoryRun:
        run = self.runs[run_id]
        run.status = "failed"
        run.error = error
        return FinishedMemoryRun(
            run_id=run_id,
            user_id=run.user_id,
            skill_name=run.skill,
            status="failed",
            error=error,
            telegram_chat_id=str(run.chat_id),
            telegram_message_id=run.message_id,
        )
