"""The agent's read-only tools: web_fetch, web_search, list_client_files, read_client_file."""

from ._base import MAX_RESULT_CHARS, ToolFailed, ToolOutcome, ToolStatus, untrusted
from .toolbox import SPECS, Toolbox, ToolSetup, plan_tools
from .web_fetch import MAX_BYTES, MAX_REDIRECTS, TIMEOUT_SECONDS, FetchedPage, WebFetcher, html_to_markdown
from .web_search import SearchConfig, SearchHit, search

__all__ = [
    "MAX_BYTES",
    "MAX_REDIRECTS",
    "MAX_RESULT_CHARS",
    "SPECS",
    "TIMEOUT_SECONDS",
    "FetchedPage",
    "SearchConfig",
    "SearchHit",
    "ToolFailed",
    "ToolOutcome",
    "ToolSetup",
    "ToolStatus",
    "Toolbox",
    "WebFetcher",
    "html_to_markdown",
    "plan_tools",
    "search",
    "untrusted",
]
