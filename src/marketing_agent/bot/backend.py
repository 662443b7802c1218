"""What the bot needs from the rest of the system — and nothing more.

The bot never touches the database: it talks to a :class:`BotBackend`. ``ServicesBotBackend`` implements
it over ``marketing_agent.services``; ``InMemoryBotBackend`` (``bot/memory.py``) for tests.
Ids are strings here (the services' UUIDs as text) so callback data and chat texts need no conversion.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from marketing_agent.agent.skill import SkillCategory


@dataclass(frozen=True, slots=True)
class LinkedUser:
    user_id: str
    email: str | None = None


@dataclass(frozen=True, slots=True)
class SkillSummary:
    name: str
    description: str
    trigger_keywords: tuple[str, ...] = ()
    category: SkillCategory | None = None  # None: listed under "Other" when browsing


@dataclass(frozen=True, slots=True)
class DetectedSkill:
    """What free text asks for (``agent.detect``): a skill to run when one is confident, else candidates."""

    skill: str | None  # confident: run it without asking
    candidates: tuple[str, ...]  # best first: what to offer when ``skill`` is None
    request: str  # the text to run (without a ``skill-name:`` prefix)
    client_id: str | None = None  # the user's client the text names


@dataclass(frozen=True, slots=True)
class CreatedRun:
    run_id: str
    skill: str


@dataclass(frozen=True, slots=True)
class RunSummary:
    run_id: str
    skill: str
    status: str  # queued | running | completed | failed | cancelled
    queued_at: datetime | None = None
    title: str | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class OutputContent:
    output_id: str
    run_id: str
    title: str
    content: str = field(repr=False)
    filename: str = "output.md"


class BotBackend(Protocol):
    """The use cases behind the bot's commands. Errors are ``marketing_agent.errors`` types; their
    ``message`` is shown in the chat, so it must be fit for a user (never a secret)."""

    async def link_chat(self, chat_id: int, api_key: str) -> LinkedUser | None:
        """Make this chat the key's user's Telegram channel; None when the key is not valid."""
        ...

    async def unlink_chat(self, chat_id: int) -> bool:
        """Forget the chat; True when it was linked."""
        ...

    async def user_for_chat(self, chat_id: int) -> LinkedUser | None: ...

    async def list_skills(self) -> Sequence[SkillSummary]: ...

    async def detect_skill(self, user_id: str, text: str, *, use_model: bool = True) -> DetectedSkill:
        """Which skill (and client) free text asks for. ``use_model`` False: keywords only (cheap; for the
        client and the request once the user has picked the skill)."""
        ...

    async def create_run(
        self,
        user_id: str,
        skill: str,
        message: str,
        chat_id: int,
        message_id: int,
        client_id: str | None = None,
    ) -> CreatedRun:
        """Queue a run; ``chat_id``/``message_id`` is the "working on it" message to edit when it ends."""
        ...

    async def recent_runs(self, user_id: str, limit: int = 5) -> Sequence[RunSummary]: ...

    async def get_output(self, user_id: str, run_id: str) -> OutputContent:
        """The run's output; RunNotFound / OutputNotFound when it is not this user's or not there."""
        ...

    async def record_feedback(self, user_id: str, output_id: str, score: int) -> None:
        """Store a 1–5 rating with source ``telegram``; this also triggers ``feedback.process``."""
        ...

    async def review_stage(
        self, user_id: str, workflow_run_id: str, position: int, decision: str, notes: str | None = None
    ) -> str:
        """Review the stage at ``position`` of the user's workflow run; returns the stage's name.

        Conflict when the stage does not await a review, WorkflowRunNotFound when it is not the user's.
        """
        ...
