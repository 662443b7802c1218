"""Building the functions' dependencies from the settings, once, at start-up.

:class:`FunctionsMount` is the hook the API factory takes (``create_api_app(..., mount_functions=...)``):
it builds :class:`FunctionDeps` from the app's database and store, mounts ``/api/inngest`` and keeps
what it opened (LLM provider, notifier HTTP client) so the caller can close it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any, Protocol

import inngest
from fastapi import FastAPI

from marketing_agent.agent import sectioned
from marketing_agent.agent.execute import SkillOptions, SkillResult, execute_skill
from marketing_agent.agent.llm import LLMProvider, Message, make_provider, select_provider_name
from marketing_agent.agent.loop import AgentLoop, TurnDecision
from marketing_agent.agent.loop_records import LoopPlan, TurnRecord
from marketing_agent.agent.run_options import StoredRunOptions
from marketing_agent.agent.skill import Skill
from marketing_agent.agent.skills import SkillCatalog, load_skill_catalog
from marketing_agent.agent.spend import check_spend
from marketing_agent.agent.tools import ToolOutcome, WebFetcher
from marketing_agent.errors import ValidationFailed
from marketing_agent.functions.adapters import (
    ChannelNotifications,
    DatabaseRunServices,
    TelegramOriginEditor,
)
from marketing_agent.functions.deps import FunctionDeps, SkillOutcome
from marketing_agent.functions.registry import serve_functions
from marketing_agent.functions.workflow_adapters import DatabaseWorkflowServices
from marketing_agent.notify import NotifierRegistry, build_notifiers
from marketing_agent.services import Database, EventSender, make_inngest_client
from marketing_agent.settings import LLMProviderName, Settings
from marketing_agent.storage import ObjectStore

logger = logging.getLogger(__name__)


class CatalogSkillExecutor:
    """:class:`~marketing_agent.functions.deps.SkillExecutor` over the skill catalog and ``execute_skill``.

    The provider and the catalog are made on first use, so a process without any LLM configured still
    starts, and a run then fails at once with the error saying how to configure one.
    """

    def __init__(
        self,
        settings: Settings,
        store: ObjectStore,
        *,
        provider: LLMProvider | None = None,
        catalog: SkillCatalog | None = None,
        fetcher: WebFetcher | None = None,
    ) -> None:
        self._settings = settings
        self._store = store
        self._provider = provider
        self._owns_provider = provider is None
        self._catalog = catalog
        self._lock = asyncio.Lock()
        self._loop = AgentLoop(settings, store, skill_of=self.skill, provider_of=self.provider, fetcher=fetcher)

    async def _load_catalog(self) -> SkillCatalog:
        catalog = await load_skill_catalog(self._settings.skills_dir, self._store)
        self._catalog = catalog
        return catalog

    async def skill(self, name: str) -> Skill:
        async with self._lock:
            catalog = self._catalog or await self._load_catalog()
            if name not in catalog:
                # A skill uploaded to storage after start-up: look once more before giving up.
                catalog = await self._load_catalog()
        return catalog.require(name)

    def provider(self) -> LLMProvider:
        if self._provider is None:
            self._provider = make_provider(self._settings)  # LLMNotConfigured is permanent: the run fails
        return self._provider

    async def __call__(
        self, skill_name: str, message: str, client_slug: str | None, options: dict[str, Any]
    ) -> SkillOutcome:
        skill = await self.skill(skill_name)
        llm_options = _llm_options(options, self._settings)
        result = await execute_skill(
            skill,
            message,
            client_slug,
            llm_options,
            provider=self.provider(),
            store=self._store,
            raise_errors=True,
        )
        return _outcome(result)

    # --- the agent loop's steps (functions.deps.SkillAgent) ----------------------------------------
    async def plan(self, skill_name: str, client_slug: str | None, options: dict[str, Any]) -> LoopPlan:
        return await self._loop.plan(skill_name, client_slug, _llm_options(options, self._settings))

    async def turn(
        self,
        plan: LoopPlan,
        message: str,
        client_slug: str | None,
        options: dict[str, Any],
        transcript: list[Message],
        decision: TurnDecision,
    ) -> TurnRecord:
        return await self._loop.turn(
            plan, message, client_slug, _llm_options(options, self._settings), transcript, decision
        )

    async def tool(self, client_slug: str | None, name: str, arguments: dict[str, Any]) -> ToolOutcome:
        return await self._loop.tool(client_slug, name, arguments)

    async def finish(
        self, plan: LoopPlan, client_slug: str | None, turns: list[TurnRecord], warnings: list[str]
    ) -> SkillOutcome:
        return _outcome(await self._loop.finish(plan, client_slug, turns, warnings))

    async def aclose(self) -> None:
        if self._owns_provider and self._provider is not None:
            await self._provider.aclose()


def _llm_options(options: dict[str, Any], settings: Settings) -> SkillOptions:
    # Every path to the model passes here (one-shot, the agent loop's plan and turns), and so do runs that
    # never saw POST /runs (bot, schedules, workflows): the operator's spend caps apply to all of them.
    check_spend(options, settings)
    try:
        # The services checked the options with this model when the run was created; only an event sent
        # past them can fail here. Delivery fields (telegram, outputType, workflow) never reach the LLM.
        return StoredRunOptions.model_validate(options).llm()
    except ValueError as exc:
        raise ValidationFailed(f"invalid run options: {exc}") from exc


def _outcome(result: SkillResult) -> SkillOutcome:
    return SkillOutcome(
        output=result.output,
        title=result.title,
        tokens_in=result.tokens_input,
        tokens_out=result.tokens_output,
        # No price known for the model (a local or unlisted one): recorded as 0 with the tokens.
        cost_usd=result.cost_usd or 0.0,
        model=result.model,
        warnings=result.warnings,
    )


class CatalogSectionWriter:
    """:class:`~marketing_agent.functions.deps.SectionWriter` over the executor's catalog and provider
    (``marketing_agent.agent.sectioned``)."""

    def __init__(self, executor: CatalogSkillExecutor, settings: Settings, store: ObjectStore) -> None:
        self._executor = executor
        self._settings = settings
        self._store = store

    async def plan(self, skill_name: str, message: str, options: dict[str, Any]) -> dict[str, Any] | None:
        skill = await self._executor.skill(skill_name)
        plan = sectioned.plan_sections(skill, message, _llm_options(options, self._settings))
        return plan.to_dict() if plan else None

    async def write(
        self,
        skill_name: str,
        message: str,
        client_slug: str | None,
        options: dict[str, Any],
        plan: dict[str, Any],
        index: int,
        written: Sequence[dict[str, Any]],
    ) -> dict[str, Any]:
        section = await sectioned.write_section(
            await self._executor.skill(skill_name),
            sectioned.SectionPlan.from_dict(plan),
            index,
            message,
            client_slug,
            [sectioned.WrittenSection.from_dict(s) for s in written],
            _llm_options(options, self._settings),
            provider=self._executor.provider(),
            store=self._store,
        )
        return section.to_dict()

    def outcome(self, skill_name: str, plan: dict[str, Any], written: Sequence[dict[str, Any]]) -> SkillOutcome:
        result = sectioned.join_sections(
            skill_name, sectioned.SectionPlan.from_dict(plan), [sectioned.WrittenSection.from_dict(s) for s in written]
        )
        return _outcome(result)


def small_model_mode(settings: Settings, provider: LLMProvider | None) -> bool:
    """True when runs go through the offline model: the given provider's, else the configured one's name."""
    name = provider.name if provider is not None else select_provider_name(settings)
    return name is LLMProviderName.LOCAL


def build_function_deps(
    settings: Settings,
    *,
    database: Database,
    store: ObjectStore,
    notifiers: NotifierRegistry,
    provider: LLMProvider | None = None,
    catalog: SkillCatalog | None = None,
    telegram_origin_editor: TelegramOriginEditor | None = None,
    events: EventSender | None = None,
) -> FunctionDeps:
    """Everything the functions need, from the parts the process already opened (and closes).

    ``events`` (how the app sends events: schedules start runs with it) adds the workflow and schedule
    functions. ``provider`` and ``catalog`` default to being made on first use (see :class:`CatalogSkillExecutor`;
    close ``deps.execute`` then). With the offline model, runs are written section by section
    (``deps.sections``, small-model mode). Runs from the Telegram bot get their message edited by the bot's
    ``origin_editor`` when ``TELEGRAM_BOT_TOKEN`` is set.
    """
    if telegram_origin_editor is None and settings.telegram_bot_token is not None:
        from marketing_agent.bot import origin_editor

        telegram_origin_editor = origin_editor(settings)
    executor = CatalogSkillExecutor(settings, store, provider=provider, catalog=catalog)
    return FunctionDeps(
        settings=settings,
        services=DatabaseRunServices(database, settings),
        store=store,
        execute=executor,
        notifications=ChannelNotifications(
            settings, database, notifiers, telegram_origin_editor=telegram_origin_editor
        ),
        workflows=None if events is None else DatabaseWorkflowServices(settings, database, store, notifiers, events),
        agent=executor,
        sections=CatalogSectionWriter(executor, settings, store) if small_model_mode(settings, provider) else None,
    )


class _AppParts(Protocol):
    """What the API factory's context offers (``marketing_agent.api.context.AppContext``)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def database(self) -> Database: ...
    @property
    def store(self) -> ObjectStore: ...
    @property
    def events(self) -> EventSender: ...


async def close_inngest_client(client: inngest.Inngest) -> None:
    """Close the HTTP connections an SDK client keeps open (0.5.19 has no public close).

    Without this a pooled keep-alive connection to the engine outlives the client and is only reclaimed
    by the garbage collector, with a ResourceWarning.
    """
    http = getattr(client, "_http_client", None)
    async_client = getattr(http, "_http_client", None)
    sync_client = getattr(http, "_http_client_sync", None)
    if async_client is not None:
        await async_client.aclose()
    if sync_client is not None:
        sync_client.close()


class FunctionsMount:
    """The ``mount_functions`` hook of ``create_api_app``; call :meth:`aclose` when the process stops."""

    def __init__(
        self,
        *,
        client: inngest.Inngest | None = None,
        provider: LLMProvider | None = None,
        catalog: SkillCatalog | None = None,
        notifiers: NotifierRegistry | None = None,
        telegram_origin_editor: TelegramOriginEditor | None = None,
    ) -> None:
        self._client = client
        self._provider = provider
        self._catalog = catalog
        self._notifiers = notifiers
        self._editor = telegram_origin_editor
        self._owned: list[Any] = []
        self._owned_client: inngest.Inngest | None = None
        self.deps: FunctionDeps | None = None
        self.functions: list[inngest.Function[Any]] = []

    def __call__(self, app: FastAPI, context: _AppParts) -> list[inngest.Function[Any]]:
        settings = context.settings
        notifiers = self._notifiers
        if notifiers is None:
            notifiers = build_notifiers(settings)
            self._owned.append(notifiers)
        self.deps = build_function_deps(
            settings,
            database=context.database,
            store=context.store,
            provider=self._provider,
            catalog=self._catalog,
            notifiers=notifiers,
            telegram_origin_editor=self._editor,
            events=context.events,
        )
        self._owned.append(self.deps.execute)
        client = self._client
        if client is None:
            client = make_inngest_client(settings)
            self._owned_client = client
        self.functions = serve_functions(app, self.deps, client)
        return self.functions

    async def aclose(self) -> None:
        for part in reversed(self._owned):
            try:
                await part.aclose()
            except Exception:  # closing is best effort; say what failed and go on with the rest
                logger.exception("closing %s failed", type(part).__name__)
        self._owned.clear()
        if self._owned_client is not None:
            await close_inngest_client(self._owned_client)
            self._owned_client = None


__all__ = [
    "CatalogSectionWriter",
    "CatalogSkillExecutor",
    "FunctionsMount",
    "build_function_deps",
    "close_inngest_client",
    "small_model_mode",
]
