"""What every route needs, built once by the app factory and reached through ``request.app.state``."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from marketing_agent.agent.detect import SkillDetector
from marketing_agent.services import Database, EventSender, RunCanceller
from marketing_agent.settings import Settings
from marketing_agent.storage import ObjectStore


@dataclass(frozen=True, slots=True)
class AppContext:
    settings: Settings
    database: Database
    store: ObjectStore
    events: EventSender
    canceller: RunCanceller
    detector: SkillDetector  # POST /detect and "skillName": "auto"


def get_context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context
