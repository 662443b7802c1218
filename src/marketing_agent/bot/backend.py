"""What the bot needs from the rest of the system — and nothing more.

The bot never touches the database: it talks to a :class:`BotBackend`. ``ServicesBotBackend`` implements
it over ``marketing_agent.services``; ``InMemoryBotBackend`` (``bot/memory.py``) for tests.
Ids are strings here (the services' UUIDs as text) so callback data and chat texts need no conversion.
"""

from __future__ import annotations

import re
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

    async def suggest_skills(self, text: str, limit: int = 3) -> Sequence[SkillSummary]:
        """The skills most likely to fit a free-text request, best first (possibly none)."""
        ...

    async def create_run(self, user_id: str, skill: str, message: str, chat_id: int, message_id: int) -> CreatedRun:
        """Queue a run; ``chat_id``/``message_id`` is the "working on it" message to edit when it ends."""
        ...

    async def recent_runs(self, user_id: str, limit: int = 5) -> Sequence[RunSummary]: ...

    async def get_output(self, user_id: str, run_id: str) -> OutputContent:
        """The run's output; RunNotFound / OutputNotFound when it is not this user's or not there."""
        ...

    async def record_feedback(self, user_id: str, output_id: str, score: int) -> None:
        """Store a 1–5 rating with source ``telegram``; this also triggers ``feedback.process``."""
        ...


_WORD = re.compile(r"[a-z0-9]+")
# Words that say nothing about which skill fits.
# fmt: off
_STOP = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "i", "in", "is", "it", "me", "my",
    "of", "on", "or", "our", "please", "the", "this", "to", "us", "we", "with", "you", "your", "write",
    "make", "create", "need", "want", "help", "can", "could", "would", "some",
})
# fmt: on


def rank_skills(text: str, skills: Sequence[SkillSummary], limit: int = 3) -> list[SkillSummary]:
    """Score skills by the request's words: trigger keywords count most, then the name, then the
    description. Deterministic (ties broken by name); skills with no overlap are left out."""
    words = {w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 1}
    lowered = text.lower()
    scored: list[tuple[float, str, SkillSummary]] = []
    for skill in skills:
        score = 0.0
        for keyword in skill.trigger_keywords:
            if keyword.lower() in lowered:
                score += 3
        for word in words:
            for part in skill.name.split("-"):
                if word == part:
                    score += 2
                elif min(len(word), len(part)) >= 4 and (word.startswith(part) or part.startswith(word)):
                    score += 1.5  # "emails" ~ "email", "competitors" ~ "competitor"
        description_words = set(_WORD.findall(skill.description.lower())) - _STOP
        score += 0.5 * len(words & description_words)
        if score > 0:
            scored.append((-score, skill.name, skill))
    scored.sort(key=lambda item: (item[0], item[1]))
    return [skill for _, _, skill in scored[:limit]]
