"""Sending events to the engine (our own, or Inngest Cloud / self-hosted Inngest) with the official SDK.

``make_inngest_client`` is the one place the ``inngest.Inngest`` client is built; the durable functions
reuse it so producer and consumer agree on app id, mode and URLs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import inngest

from marketing_agent.errors import ServiceUnavailable
from marketing_agent.settings import Settings

logger = logging.getLogger(__name__)

APP_ID = "marketing-agent"

# Event names: the seed's wire shape, kept so producers and consumers written against it interoperate.
SKILL_EXECUTE = "skill.execute"
SKILL_EXECUTE_COMPLETED = "skill.execute.completed"
SKILL_EXECUTE_FAILED = "skill.execute.failed"
FEEDBACK_PROCESS = "feedback.process"
#: A workflow run was recorded and should be carried out by ``workflow-run``.
WORKFLOW_RUN = "workflow.run"
#: A person reviewed a stage (``approve`` / ``revise`` / ``reject``); ``workflow-run`` waits for it.
WORKFLOW_STAGE_REVIEWED = "workflow.stage.reviewed"
#: A schedule is due at ``fireAt``; ``schedule-fire`` starts its run once per schedule and fire time.
SCHEDULE_FIRED = "schedule.fired"

_FALSY = {"", "0", "false", "no", "off"}


def inngest_dev_mode(settings: Settings) -> bool:
    """INNGEST_DEV truthy (the default "1", or a dev-server URL) → dev mode: no keys needed."""
    value = settings.inngest_dev
    return value is not None and value.strip().lower() not in _FALSY


def make_inngest_client(settings: Settings) -> inngest.Inngest:
    """The app's Inngest client, pointed at ``settings.engine_url`` (our engine unless INNGEST_BASE_URL says
    otherwise). Keys come from settings, never from a module-level global."""
    dev = inngest_dev_mode(settings)
    event_key = settings.inngest_event_key.get_secret_value() if settings.inngest_event_key else None
    signing_key = settings.inngest_signing_key.get_secret_value() if settings.inngest_signing_key else None
    return inngest.Inngest(
        app_id=APP_ID,
        is_production=not dev,
        api_base_url=settings.engine_url,
        event_api_base_url=settings.engine_url,
        event_key=event_key,
        signing_key=signing_key,
        logger=logging.getLogger("marketing_agent.inngest"),
    )


class EventSender(Protocol):
    async def send(self, name: str, data: Mapping[str, Any], *, id: str | None = None) -> str:
        """Send one event; return the id the event API gave it. Raise ServiceUnavailable when it cannot."""
        ...


class InngestEventSender:
    """The real sender: the SDK's ``client.send`` (it retries 5xx and connection errors itself)."""

    def __init__(self, client: inngest.Inngest) -> None:
        self._client = client

    async def send(self, name: str, data: Mapping[str, Any], *, id: str | None = None) -> str:
        event = inngest.Event(name=name, data=dict(data), id=id or "")
        try:
            ids = await self._client.send(event)
        except Exception as exc:  # the SDK raises several types (HTTP, its own errors): all mean "not accepted"
            logger.warning("event not accepted", extra={"event_name": name, "error": type(exc).__name__})
            raise ServiceUnavailable(f"the event API did not accept {name}: {exc}") from exc
        if not ids:
            raise ServiceUnavailable(f"the event API returned no id for {name}")
        return str(ids[0])


@dataclass
class SentEvent:
    name: str
    data: dict[str, Any]
    id: str


@dataclass
class InMemoryEventSender:
    """For tests and embedded use without an engine: records events; ``fail_with`` simulates an outage."""

    sent: list[SentEvent] = field(default_factory=list)
    fail_with: str | None = None

    async def send(self, name: str, data: Mapping[str, Any], *, id: str | None = None) -> str:
        if self.fail_with is not None:
            raise ServiceUnavailable(self.fail_with)
        event_id = id or f"evt-{len(self.sent) + 1}"
        self.sent.append(SentEvent(name=name, data=dict(data), id=event_id))
        return event_id

    def named(self, name: str) -> list[SentEvent]:
        return [event for event in self.sent if event.name == name]
