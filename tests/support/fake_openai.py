"""A local server speaking OpenAI's Chat Completions API, for the real ``openai`` SDK via OPENAI_BASE_URL.

``POST /v1/chat/completions`` requires ``Authorization: Bearer <key>`` and ``model``/``messages``, and
answers a ``chat.completion`` (``choices``, ``usage`` with ``prompt_tokens_details.cached_tokens``) or an
error body ``{"error": {"message", "type", "param", "code"}}``.
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

from support.fake_llm_server import FakeLLMServer, FakeReply, RecordedRequest, estimate_tokens

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "invalid_request_error",
    404: "invalid_request_error",
    429: "requests",
    500: "server_error",
    503: "server_error",
}

_ids = itertools.count(1)


def openai_error(
    status: int,
    code: str | None = None,
    error_type: str | None = None,
    message: str = "scripted error",
    **headers: str,
) -> FakeReply:
    body = {
        "error": {
            "message": message,
            "type": error_type or ERROR_TYPES.get(status, "server_error"),
            "param": None,
            "code": code,
        }
    }
    return FakeReply(status=status, body=body, headers={k.replace("_", "-"): v for k, v in headers.items()})


class FakeOpenAI(FakeLLMServer):
    def __init__(self, *, api_key: str | None = "test-key", default_text: str = "# Result\n\nDone.\n") -> None:
        """``api_key`` None: accept any key, like Ollama or a llama.cpp server."""
        super().__init__()
        self.api_key = api_key
        self.default_text = default_text

    @property
    def base_url(self) -> str:
        """What OPENAI_BASE_URL is set to (the SDK adds ``/chat/completions``)."""
        return f"{self.origin}/v1"

    def answer(self, request: RecordedRequest, reply: FakeReply | None) -> tuple[int, dict[str, Any], dict[str, str]]:
        if request.method != "POST" or request.path.split("?")[0] != "/v1/chat/completions":
            return 404, openai_error(404, code="unknown_url", message=request.path).body or {}, {}
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or (self.api_key is not None and auth != f"Bearer {self.api_key}"):
            return 401, openai_error(401, code="invalid_api_key", message="Incorrect API key").body or {}, {}
        body = request.json if isinstance(request.json, dict) else {}
        missing = [f for f in ("model", "messages") if f not in body]
        if missing:
            return (
                400,
                openai_error(400, message=f"Missing required parameter: '{missing[0]}'").body or {},
                {},
            )
        if reply is not None and reply.body is not None:
            return reply.status, reply.body, reply.headers
        text = reply.text if reply is not None and reply.text is not None else self.default_text
        prompt = sum(estimate_tokens(str(m.get("content", ""))) for m in body["messages"])
        usage: dict[str, Any] = {
            "prompt_tokens": prompt,
            "completion_tokens": estimate_tokens(text),
            "total_tokens": prompt + estimate_tokens(text),
            "prompt_tokens_details": {"cached_tokens": 0},
        }
        if reply is not None and reply.usage:
            usage.update(reply.usage)
        message: dict[str, Any] = {"role": "assistant", "content": text or None}
        calls = reply.tool_calls if reply is not None else ()
        if calls and body.get("tools") and body.get("tool_choice") != "none":
            message["tool_calls"] = [
                {
                    "id": f"call_fake{next(_ids):06d}",
                    "type": "function",
                    "function": {"name": c["name"], "arguments": json.dumps(c["input"])},
                }
                for c in calls
            ]
        completion = {
            "id": f"chatcmpl-fake{next(_ids):06d}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": (reply.stop_reason if reply else None)
                    or ("tool_calls" if "tool_calls" in message else "stop"),
                    "logprobs": None,
                }
            ],
            "usage": usage,
        }
        return (reply.status if reply else 200), completion, (reply.headers if reply else {})
