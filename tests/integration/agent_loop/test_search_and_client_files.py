"""web_search against loopback servers speaking Brave's, Tavily's and SearXNG's APIs, and the client-file
tools against a real object store."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from marketing_agent.agent.tools import SearchConfig, Toolbox, ToolStatus
from marketing_agent.settings import Settings
from marketing_agent.storage import MemoryObjectStore


class _SearchApis(BaseHTTPRequestHandler):
    """Brave (GET /res/v1/web/search, X-Subscription-Token), Tavily (POST /search, Bearer key) and SearXNG
    (GET /search?format=json), each answering in its own shape; anything else is 401/404."""

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.startswith("/res/v1/web/search?"):
            if self.headers.get("X-Subscription-Token") != "brave-key":
                return self._send(401, {"error": "bad token"})
            hit = {"title": "Acme", "url": "https://acme.test/", "description": "Widgets."}
            return self._send(200, {"web": {"results": [hit]}})
        if self.path.startswith("/search?") and "format=json" in self.path:
            return self._send(200, {"results": [{"title": "Acme", "url": "https://acme.test/", "content": "Widgets."}]})
        return self._send(404, {})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path != "/search" or self.headers.get("Authorization") != "Bearer tvly-key" or not body.get("query"):
            return self._send(401, {"detail": "unauthorized"})
        return self._send(200, {"results": [{"title": "Acme", "url": "https://acme.test/", "content": "Widgets."}]})

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def search_origin() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SearchApis)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]


@pytest.mark.parametrize(
    ("provider", "key", "path"),
    [("brave", "brave-key", "/res/v1/web/search"), ("tavily", "tvly-key", "/search"), ("searxng", None, "")],
)
async def test_each_search_provider(search_origin: str, provider: str, key: str | None, path: str) -> None:
    config = settings(search_provider=provider, search_api_key=key, search_api_url=search_origin + path)
    toolbox = Toolbox(config, MemoryObjectStore(), None)
    outcome = await toolbox.call("web_search", {"query": "acme widgets"})
    assert outcome.status is ToolStatus.OK, outcome.error
    assert outcome.content.startswith(f'<search_results source="{provider}">')
    assert "https://acme.test/" in outcome.content


async def test_a_search_api_error_is_a_tool_error(search_origin: str) -> None:
    config = settings(
        search_provider="brave", search_api_key="wrong", search_api_url=search_origin + "/res/v1/web/search"
    )
    outcome = await Toolbox(config, MemoryObjectStore(), None).call("web_search", {"query": "acme"})
    assert outcome.error == "brave search answered HTTP 401"


def test_brave_and_tavily_need_a_key() -> None:
    assert SearchConfig.from_settings(settings(search_provider="brave")) is None
    assert SearchConfig.from_settings(settings(search_provider="searxng")) is None  # needs SEARCH_API_URL
    assert SearchConfig.from_settings(settings(search_provider="tavily", search_api_key="k")) is not None


async def test_client_files_are_listed_and_read_on_demand() -> None:
    store = MemoryObjectStore()
    await store.put("clients/acme/profile.md", b"# Acme\n")
    await store.put("clients/acme/research/interviews.md", b"# Interviews\n\nSetup took an afternoon.\n")
    await store.put("clients/other/profile.md", b"# Other client\n")
    toolbox = Toolbox(settings(), store, "acme")

    listed = await toolbox.call("list_client_files", {})
    assert listed.content.splitlines() == ["profile.md", "research/interviews.md"]
    read = await toolbox.call("read_client_file", {"path": "research/interviews.md"})
    assert read.status is ToolStatus.OK
    assert "Setup took an afternoon." in read.content
    for path, reason in [
        ("../other/profile.md", "is not a client file path"),
        ("/etc/passwd", "is not a client file path"),
        ("notes.txt", "is not a client file path"),
        ("missing.md", "the client has no file 'missing.md'"),
    ]:
        refused = await toolbox.call("read_client_file", {"path": path})
        assert refused.status is ToolStatus.ERROR
        assert reason in (refused.error or ""), refused.error
