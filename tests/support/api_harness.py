"""Building blocks for tests that drive the REST API in-process (owned by the API suite)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from fastapi import FastAPI

from marketing_agent.agent.skill import Skill, SkillCategory, SkillMetadata, SkillSource
from marketing_agent.services import Database, InMemoryEventSender, InMemoryRunCanceller
from marketing_agent.storage import LocalObjectStore


def make_skill(name: str) -> Skill:
    return Skill(
        name=name,
        description=f"The {name} skill.",
        instructions="Do it.",
        source=SkillSource.BUILTIN,
        metadata=SkillMetadata(
            type="copy",
            category=SkillCategory.COPYWRITING,
            trigger_keywords=("headline",),
            related_skills=("copy-editing",),
        ),
        rules="Be brief.",
    )


@dataclass
class Api:
    app: FastAPI
    http: httpx.AsyncClient
    database: Database
    store: LocalObjectStore
    events: InMemoryEventSender
    canceller: InMemoryRunCanceller
    key: str
    other_key: str

    def auth(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.key}"}
