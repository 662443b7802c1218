"""The tools a run may use: which are offered (:func:`plan_tools`) and running one call (:class:`Toolbox`).

Every tool is read-only: it fetches, searches or reads the client's files, and nothing it does changes
anything outside the run. An error a tool meets (bad input, 404, a refused address, a timeout) becomes
its result, marked as an error, so the model can try something else; only a storage hiccup is raised,
for the engine to retry the step.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from marketing_agent.agent.context import list_client_files
from marketing_agent.agent.llm import ToolSpec
from marketing_agent.agent.skill import ToolName
from marketing_agent.agent.tools._base import ToolFailed, ToolOutcome, ToolStatus, cut, untrusted
from marketing_agent.agent.tools.web_fetch import WebFetcher
from marketing_agent.agent.tools.web_search import SearchConfig, format_hits, search
from marketing_agent.errors import MarketingAgentError, ObjectNotFound
from marketing_agent.netguard import AllowList, BlockedAddressError
from marketing_agent.settings import Settings
from marketing_agent.storage import ObjectStore, keys

_URL = {"type": "string", "description": "An absolute http:// or https:// URL."}
SPECS: dict[ToolName, ToolSpec] = {
    ToolName.WEB_FETCH: ToolSpec(
        "web_fetch",
        "Fetch one public web page and return its title, meta tags, heading outline and main content as "
        "markdown. Only http/https; HTML and plain text only. Cite the URL for every claim you base on it.",
        {"type": "object", "properties": {"url": _URL}, "required": ["url"], "additionalProperties": False},
    ),
    ToolName.WEB_SEARCH: ToolSpec(
        "web_search",
        "Search the web; returns titles, URLs and snippets. Fetch a result with web_fetch before relying on it.",
        {
            "type": "object",
            "properties": {"query": {"type": "string", "description": "The search query."}},
            "required": ["query"],
            "additionalProperties": False,
        },
    ),
    ToolName.LIST_CLIENT_FILES: ToolSpec(
        "list_client_files",
        "List the client's context files (paths relative to the client's folder).",
        {"type": "object", "properties": {}, "additionalProperties": False},
    ),
    ToolName.READ_CLIENT_FILE: ToolSpec(
        "read_client_file",
        "Read one of the client's context files by its path from list_client_files, e.g. 'competitors.md'.",
        {
            "type": "object",
            "properties": {"path": {"type": "string", "description": "Path relative to the client's folder."}},
            "required": ["path"],
            "additionalProperties": False,
        },
    ),
}
_CLIENT_TOOLS = frozenset({ToolName.READ_CLIENT_FILE, ToolName.LIST_CLIENT_FILES})


@dataclass(frozen=True, slots=True)
class ToolSetup:
    """Which tools one run offers (JSON-safe: part of the run's memoized plan)."""

    tools: tuple[ToolName, ...] = ()  # run by us
    server_web_search: bool = False  # run by the provider (Anthropic)
    unavailable: tuple[str, ...] = ()  # allowed by the skill but not offered, with the reason

    @property
    def any(self) -> bool:
        return bool(self.tools) or self.server_web_search

    def specs(self) -> tuple[ToolSpec, ...]:
        return tuple(SPECS[name] for name in self.tools)

    def to_json(self) -> dict[str, Any]:
        return {
            "tools": [t.value for t in self.tools],
            "serverWebSearch": self.server_web_search,
            "unavailable": list(self.unavailable),
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> ToolSetup:
        return cls(
            tools=tuple(ToolName(t) for t in raw["tools"]),
            server_web_search=bool(raw["serverWebSearch"]),
            unavailable=tuple(raw["unavailable"]),
        )


def plan_tools(allowed: tuple[ToolName, ...], settings: Settings, *, anthropic: bool, has_client: bool) -> ToolSetup:
    """The tools offered: the skill's ``allowed-tools`` less those this installation cannot run."""
    tools: list[ToolName] = []
    server_search = False
    unavailable: list[str] = []
    for name in allowed:
        if name is ToolName.WEB_SEARCH:
            if anthropic:
                server_search = True
            elif SearchConfig.from_settings(settings) is not None:
                tools.append(name)
            else:
                unavailable.append("web_search (no search provider configured: set SEARCH_PROVIDER)")
        elif name in _CLIENT_TOOLS and not has_client:
            unavailable.append(f"{name.value} (the run has no client)")
        else:
            tools.append(name)
    return ToolSetup(tuple(tools), server_search, tuple(unavailable))


class Toolbox:
    """Runs tool calls for one run. ``fetcher`` and ``search_config`` default to the settings'."""

    def __init__(
        self,
        settings: Settings,
        store: ObjectStore,
        client_slug: str | None,
        *,
        fetcher: WebFetcher | None = None,
    ) -> None:
        self._store = store
        self._slug = client_slug
        self._fetcher = fetcher or WebFetcher(AllowList.parse(settings.web_fetch_allow_hosts))
        self._search = SearchConfig.from_settings(settings)

    async def call(self, name: str, arguments: dict[str, Any]) -> ToolOutcome:
        started = time.perf_counter()
        try:
            outcome = await self._dispatch(name, arguments)
        except (ToolFailed, BlockedAddressError) as exc:
            status = exc.details.get("status") if isinstance(exc.details, dict) else None
            outcome = ToolOutcome(
                name=name,
                input=arguments,
                status=ToolStatus.ERROR,
                content=f"Tool error: {exc.message}",
                error=exc.message,
                http_status=status if isinstance(status, int) else None,
            )
        elapsed = int((time.perf_counter() - started) * 1000)
        return ToolOutcome(**{**outcome.to_json(), "status": outcome.status, "duration_ms": elapsed})

    async def _dispatch(self, name: str, arguments: dict[str, Any]) -> ToolOutcome:
        if name == ToolName.WEB_FETCH:
            url = _text_input(arguments, "url")
            page = await self._fetcher.fetch(url)
            content = untrusted("fetched_page", page.url, page.markdown or "(the page has no readable text)")
            return ToolOutcome(
                name, arguments, ToolStatus.OK, content, bytes=page.bytes, url=page.url, http_status=page.status
            )
        if name == ToolName.WEB_SEARCH:
            if self._search is None:
                raise ToolFailed("web_search is not configured on this installation")
            query = _text_input(arguments, "query")
            hits = await search(self._search, query)
            content = untrusted("search_results", self._search.provider.value, format_hits(query, hits))
            return ToolOutcome(name, arguments, ToolStatus.OK, content, bytes=len(content.encode()))
        if name == ToolName.LIST_CLIENT_FILES:
            paths = await list_client_files(self._store, self._require_client())
            text = "\n".join(paths) if paths else "(the client has no files)"
            return ToolOutcome(name, arguments, ToolStatus.OK, text, bytes=len(text.encode()))
        if name == ToolName.READ_CLIENT_FILE:
            return await self._read_client_file(arguments)
        raise ToolFailed(f"there is no tool {name!r} in this run")

    async def _read_client_file(self, arguments: dict[str, Any]) -> ToolOutcome:
        path = _text_input(arguments, "path").strip().lstrip("/")
        slug = self._require_client()
        try:
            key = keys.client_file_key(slug, path)
        except MarketingAgentError as exc:  # "../x", not markdown, …: the storage key rules refuse it
            raise ToolFailed(f"{path!r} is not a client file path: {exc.message}") from exc
        try:
            data = await self._store.get(key)
        except ObjectNotFound as exc:
            raise ToolFailed(f"the client has no file {path!r}; call list_client_files to see them") from exc
        text = data.decode("utf-8", errors="replace")
        content = f'<client_file path="{path}">\n{cut(text)}\n</client_file>'
        return ToolOutcome("read_client_file", arguments, ToolStatus.OK, content, bytes=len(data))

    def _require_client(self) -> str:
        if self._slug is None:
            raise ToolFailed("this run has no client")
        return self._slug


def _text_input(arguments: dict[str, Any], field: str) -> str:
    value = arguments.get(field)
    if not isinstance(value, str) or not value.strip():
        raise ToolFailed(f"missing input {field!r} (a non-empty string)")
    return value.strip()
