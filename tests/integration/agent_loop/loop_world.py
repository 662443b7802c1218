"""The skill-execute function on our engine with the real agent loop: the real provider SDKs against the
fake LLM servers, the real toolbox against the loopback website, the real app database and store."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from marketing_agent.agent.llm import AnthropicProvider, LLMProvider, OpenAIProvider
from marketing_agent.agent.skill import SkillSource
from marketing_agent.agent.skills import SkillCatalog, parse_skill_files
from marketing_agent.functions import FunctionDeps
from marketing_agent.functions.adapters import ChannelNotifications, DatabaseRunServices
from marketing_agent.functions.wiring import CatalogSkillExecutor
from marketing_agent.notify import ChannelKind, MemoryNotifier, NotifierRegistry
from marketing_agent.services import Database, InMemoryEventSender, User, create_run, get_skill_run
from marketing_agent.services.records import SkillRun
from marketing_agent.settings import Settings
from marketing_agent.storage import LocalObjectStore
from support.fake_anthropic import FakeAnthropic
from support.fake_llm_server import FakeReply, RecordedRequest
from support.fake_openai import FakeOpenAI
from support.function_stack import Stack, function_stack

SKILL = """---
name: site-audit
description: Audits a website from the pages it fetches.
allowed-tools: web_fetch web_search
metadata:
  max_turns: {max_turns}
---
Fetch the site's pages and audit them. Cite every URL.
"""


def turns_so_far(request: RecordedRequest) -> int:
    """How many model turns the conversation in ``request`` already holds (0 for the first call)."""
    messages = request.json["messages"]
    return sum(1 for m in messages if m["role"] == "assistant")


def tool_results(request: RecordedRequest) -> list[str]:
    """The text of every tool result in the request, whatever the wire format."""
    found: list[str] = []
    for message in request.json["messages"]:
        if message["role"] == "tool":
            found.append(str(message["content"]))
        elif isinstance(message.get("content"), list):
            found += [str(b.get("content")) for b in message["content"] if b.get("type") == "tool_result"]
    return found


@dataclass
class LoopWorld:
    stack: Stack
    db: Database
    user: User
    llm: FakeAnthropic | FakeOpenAI
    email: MemoryNotifier

    async def start_run(self, message: str = "Audit the site") -> str:
        events = InMemoryEventSender()
        run = await create_run(self.db, events, self.user.id, skill_name="site-audit", message=message)
        [event] = events.sent
        await self.stack.send(event.name, event.data)
        return str(run.id)

    async def finished(self, run_id: str) -> tuple[dict[str, Any], SkillRun]:
        [fn_run] = await self.stack.wait_for_runs("skill-execute", timeout=60)
        return fn_run, await get_skill_run(self.db, uuid.UUID(run_id))

    def script(self, responder: Callable[[int, RecordedRequest], FakeReply]) -> None:
        """Answer each LLM call by the number of turns its conversation already holds."""
        self.llm.responder = lambda request: responder(turns_so_far(request), request)


def provider_for(llm: FakeAnthropic | FakeOpenAI) -> LLMProvider:
    if isinstance(llm, FakeOpenAI):
        return OpenAIProvider(api_key=llm.api_key, default_model="gpt-5.4-mini", base_url=llm.base_url)
    return AnthropicProvider(api_key=llm.api_key, default_model="claude-sonnet-5-5", base_url=llm.base_url)


@contextlib.asynccontextmanager
async def loop_world(
    tmp_path: Path,
    db: Database,
    user: User,
    llm: FakeAnthropic | FakeOpenAI,
    *,
    max_turns: int = 10,
    **settings: Any,
) -> AsyncIterator[LoopWorld]:
    store = LocalObjectStore(tmp_path / "store")
    email = MemoryNotifier()
    skill = parse_skill_files(
        "site-audit", {"SKILL.md": SKILL.format(max_turns=max_turns)}, SkillSource.BUILTIN, "test"
    )
    catalog = SkillCatalog({"site-audit": skill})
    base = Settings(_env_file=None, alert_channels="log", **settings)  # type: ignore[call-arg]
    provider = provider_for(llm)

    def build(settings: Settings) -> FunctionDeps:
        executor = CatalogSkillExecutor(settings, store, provider=provider, catalog=catalog)
        return FunctionDeps(
            settings=settings,
            services=DatabaseRunServices(db, settings),
            store=store,
            execute=executor,
            notifications=ChannelNotifications(settings, db, NotifierRegistry({ChannelKind.LOG: email})),
            agent=executor,
        )

    try:
        async with function_stack(tmp_path, build, base) as stack:
            yield LoopWorld(stack, db, user, llm, email)
    finally:
        await provider.aclose()


def step_names(fn_run: dict[str, Any]) -> list[str]:
    return [step["name"] for step in fn_run["steps"]]


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True)
