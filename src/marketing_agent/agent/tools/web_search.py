"""``web_search(query)`` through a configured search API: Brave, Tavily or a SearXNG instance.

With the Anthropic provider the loop offers Anthropic's own server-side search instead (the API runs it;
see ``agent.llm._anthropic``), so this module serves the OpenAI-compatible provider. The endpoint is the
operator's choice (``SEARCH_PROVIDER``, ``SEARCH_API_URL``), not the model's, so it is reached directly;
the result URLs it returns are only text until the model fetches one with ``web_fetch``, which guards it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx

from marketing_agent.agent.tools._base import ToolFailed
from marketing_agent.settings import SearchProviderName, Settings

logger = logging.getLogger(__name__)

MAX_RESULTS = 8
TIMEOUT_SECONDS = 15.0
DEFAULT_URLS = {
    SearchProviderName.BRAVE: "https://api.search.brave.com/res/v1/web/search",
    SearchProviderName.TAVILY: "https://api.tavily.com/search",
}


@dataclass(frozen=True, slots=True)
class SearchHit:
    title: str
    url: str
    snippet: str


@dataclass(frozen=True, slots=True)
class SearchConfig:
    provider: SearchProviderName
    url: str
    api_key: str | None

    @classmethod
    def from_settings(cls, settings: Settings) -> SearchConfig | None:
        """The configured search API, or None (then ``web_search`` is not offered)."""
        provider = settings.search_provider
        if provider is None:
            return None
        key = settings.search_api_key.get_secret_value() if settings.search_api_key else None
        url = settings.search_api_url or DEFAULT_URLS.get(provider)
        if url is None or (provider is not SearchProviderName.SEARXNG and not key):
            logger.warning("SEARCH_PROVIDER=%s lacks its %s; web_search is off", provider, "key" if url else "URL")
            return None
        return cls(provider=provider, url=url.rstrip("/"), api_key=key)


async def search(config: SearchConfig, query: str, *, client: httpx.AsyncClient | None = None) -> list[SearchHit]:
    """Up to :data:`MAX_RESULTS` hits for ``query``; :class:`ToolFailed` when the API answers badly."""
    own = client is None
    http = client or httpx.AsyncClient(timeout=TIMEOUT_SECONDS)
    try:
        response = await _request(http, config, query)
    except httpx.HTTPError as exc:
        raise ToolFailed(f"{config.provider.value} search failed: {type(exc).__name__}") from exc
    finally:
        if own:
            await http.aclose()
    if response.status_code != 200:
        raise ToolFailed(f"{config.provider.value} search answered HTTP {response.status_code}")
    try:
        return _hits(config.provider, response.json())
    except (ValueError, TypeError, KeyError) as exc:
        raise ToolFailed(f"{config.provider.value} search sent an answer that could not be read") from exc


async def _request(http: httpx.AsyncClient, config: SearchConfig, query: str) -> httpx.Response:
    if config.provider is SearchProviderName.BRAVE:
        headers = {"X-Subscription-Token": config.api_key or "", "Accept": "application/json"}
        return await http.get(config.url, params={"q": query, "count": MAX_RESULTS}, headers=headers)
    if config.provider is SearchProviderName.TAVILY:
        body = {"query": query, "max_results": MAX_RESULTS}
        return await http.post(config.url, json=body, headers={"Authorization": f"Bearer {config.api_key}"})
    return await http.get(f"{config.url}/search", params={"q": query, "format": "json"})


def _hits(provider: SearchProviderName, body: Any) -> list[SearchHit]:
    if provider is SearchProviderName.BRAVE:
        items = body.get("web", {}).get("results", [])
        return [_hit(i, "description") for i in items[:MAX_RESULTS]]
    return [_hit(i, "content") for i in body.get("results", [])[:MAX_RESULTS]]


def _hit(item: dict[str, Any], snippet_field: str) -> SearchHit:
    return SearchHit(
        title=str(item.get("title") or ""), url=str(item["url"]), snippet=str(item.get(snippet_field) or "")
    )


def format_hits(query: str, hits: list[SearchHit]) -> str:
    if not hits:
        return f"No results for {query!r}."
    lines = [f"{i}. {h.title}\n   {h.url}\n   {h.snippet}" for i, h in enumerate(hits, 1)]
    return f"Results for {query!r}:\n\n" + "\n".join(lines)
