"""A local server speaking Anthropic's Messages API, for the real ``anthropic`` SDK via ANTHROPIC_BASE_URL.

``POST /v1/messages`` checks the headers the real API requires (the key as ``x-api-key`` or a bearer
token, ``anthropic-version``)
and the required body fields, and answers in the real shapes: a message with ``content`` and ``usage``
(including ``cache_creation_input_tokens`` / ``cache_read_input_tokens``), or an error body
``{"type": "error", "error": {"type": …, "message": …}}``. It simulates prompt caching: a system prefix
ending at a ``cache_control`` block is written to the cache the first time and read from it afterwards.
"""

from __future__ import annotations

import itertools
from typing import Any

from support.fake_llm_server import FakeLLMServer, FakeReply, RecordedRequest, estimate_tokens

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}

_ids = itertools.count(1)


def anthropic_error(
    status: int, error_type: str | None = None, message: str = "scripted error", **headers: str
) -> FakeReply:
    """A scripted error in the API's shape; ``retry_after="3"`` becomes a ``retry-after`` header."""
    body = {
        "type": "error",
        "error": {"type": error_type or ERROR_TYPES.get(status, "api_error"), "message": message},
    }
    return FakeReply(status=status, body=body, headers={k.replace("_", "-"): v for k, v in headers.items()})


class FakeAnthropic(FakeLLMServer):
    def __init__(self, *, api_key: str = "test-key", default_text: str = "# Result\n\nDone.\n") -> None:
        super().__init__()
        self.api_key = api_key
        self.default_text = default_text
        self._cache: set[str] = set()

    @property
    def base_url(self) -> str:
        """What ANTHROPIC_BASE_URL is set to (the SDK adds ``/v1/messages``)."""
        return self.origin

    def answer(self, request: RecordedRequest, reply: FakeReply | None) -> tuple[int, dict[str, Any], dict[str, str]]:
        if request.method != "POST" or request.path.split("?")[0] != "/v1/messages":
            return 404, anthropic_error(404, message=f"no route {request.path}").body or {}, {}
        # The API takes the key as ``x-api-key`` or, as current SDKs send it, ``Authorization: Bearer``.
        key = request.headers.get("x-api-key") or request.headers.get("authorization", "").removeprefix("Bearer ")
        if key != self.api_key:
            return 401, anthropic_error(401, message="invalid API key").body or {}, {}
        if not request.headers.get("anthropic-version"):
            return 400, anthropic_error(400, message="anthropic-version header is required").body or {}, {}
        body = request.json if isinstance(request.json, dict) else {}
        missing = [f for f in ("model", "max_tokens", "messages") if f not in body]
        if missing:
            return 400, anthropic_error(400, message=f"{missing[0]}: Field required").body or {}, {}
        if reply is not None and reply.body is not None:
            return reply.status, reply.body, reply.headers
        text = reply.text if reply is not None and reply.text is not None else self.default_text
        usage = self._usage(body, text)
        searches = sum(1 for block in self._server_searches(body, reply) if block["type"] == "server_tool_use")
        if searches:
            usage["server_tool_use"] = {"web_search_requests": searches}
        if reply is not None and reply.usage:
            usage.update(reply.usage)
        content: list[dict[str, Any]] = self._server_searches(body, reply)
        content += [{"type": "text", "text": text}] if text else []
        calls = reply.tool_calls if reply is not None else ()
        if calls:
            # the real API never calls a tool it was not given, nor any with tool_choice none
            declared = {t.get("name") for t in body.get("tools") or []}
            calls = tuple(c for c in calls if c["name"] in declared)
            if (body.get("tool_choice") or {}).get("type") == "none":
                calls = ()
        content += [
            {"type": "tool_use", "id": f"toolu_fake{next(_ids):06d}", "name": c["name"], "input": c["input"]}
            for c in calls
        ]
        problem = self._tool_protocol_error(body)
        if problem:
            return 400, anthropic_error(400, message=problem).body or {}, {}
        message = {
            "id": f"msg_fake{next(_ids):06d}",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": content,
            "stop_reason": (reply.stop_reason if reply else None) or ("tool_use" if calls else "end_turn"),
            "stop_sequence": None,
            "usage": usage,
        }
        return (reply.status if reply else 200), message, (reply.headers if reply else {})

    @staticmethod
    def _server_searches(body: dict[str, Any], reply: FakeReply | None) -> list[dict[str, Any]]:
        """The blocks the server-side web search tool adds (only when the request declares it)."""
        offered = any(str(t.get("type", "")).startswith("web_search_") for t in body.get("tools") or [])
        if reply is None or not reply.server_searches or not offered:
            return []
        blocks: list[dict[str, Any]] = []
        for n, query in enumerate(reply.server_searches):
            use_id = f"srvtoolu_fake{n:04d}"
            result = {
                "type": "web_search_result",
                "url": f"https://search.test/{n}",
                "title": f"Result for {query}",
                "encrypted_content": f"opaque-{n}",
                "page_age": None,
            }
            blocks.append({"type": "server_tool_use", "id": use_id, "name": "web_search", "input": {"query": query}})
            blocks.append({"type": "web_search_tool_result", "tool_use_id": use_id, "content": [result]})
        return blocks

    @staticmethod
    def _tool_protocol_error(body: dict[str, Any]) -> str | None:
        """The checks the real API makes on tool use: every tool_use is answered by a tool_result with its
        id in the next (user) message, and a conversation with tool blocks declares its tools."""
        messages = body.get("messages") or []
        has_blocks = False
        for i, message in enumerate(messages):
            content = message.get("content")
            if not isinstance(content, list):
                continue
            uses = [b["id"] for b in content if b.get("type") == "tool_use"]
            has_blocks = has_blocks or bool(uses)
            if not uses:
                continue
            following = messages[i + 1]["content"] if i + 1 < len(messages) else []
            answered = {
                b.get("tool_use_id") for b in following if isinstance(b, dict) and b.get("type") == "tool_result"
            }
            if set(uses) - answered:
                return "messages: tool_use ids were found without tool_result blocks immediately after"
        if has_blocks and not body.get("tools"):
            return "Requests which include `tool_use` or `tool_result` blocks must define tools."
        return None

    def _usage(self, body: dict[str, Any], text: str) -> dict[str, Any]:
        """Token counts as the API reports them, with the cache simulated over the system blocks."""
        system = body.get("system") or []
        if isinstance(system, str):
            system = [{"type": "text", "text": system}]
        prefix, total, breakpoints = "", 0, []
        for block in system:
            prefix += block.get("text", "")
            total += estimate_tokens(block.get("text", ""))
            if block.get("cache_control"):
                breakpoints.append((prefix, total))
        for message in body.get("messages", []):
            content = message.get("content")
            total += estimate_tokens(content if isinstance(content, str) else str(content))
        read = created = cached_end = 0
        if breakpoints:
            cached_end = breakpoints[-1][1]
            hits = [tokens for key, tokens in breakpoints if key in self._cache]
            read = max(hits) if hits else 0
            created = cached_end - read
            self._cache.update(key for key, _ in breakpoints)
        return {
            "input_tokens": total - cached_end,
            "output_tokens": estimate_tokens(text),
            "cache_creation_input_tokens": created,
            "cache_read_input_tokens": read,
        }
