"""An in-memory :class:`~marketing_agent.agent.llm.LLMProvider` for unit tests: scripted answers, every
request recorded."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from marketing_agent.agent.llm import LOCAL_MODEL_NAME, LLMRequest, LLMResponse
from marketing_agent.settings import LLMProviderName

Reply = str | Exception | Callable[[LLMRequest], str]


@dataclass
class ScriptedProvider:
    """Answers each call with the next reply (the last one repeats): a text, an error to raise, or a
    function of the request. Token counts are word counts; a reply of ``max_tokens`` words or more says it
    stopped at the limit (stop reason ``length``), as a model cut off there would."""

    replies: list[Reply] = field(default_factory=lambda: ["Some text."])
    name: LLMProviderName = LLMProviderName.LOCAL
    default_model: str = LOCAL_MODEL_NAME
    requests: list[LLMRequest] = field(default_factory=list)

    async def complete(self, request: LLMRequest) -> LLMResponse:
        self.requests.append(request)
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if isinstance(reply, Exception):
            raise reply
        text = reply(request) if callable(reply) else reply
        words = len(text.split())
        prompt = " ".join([request.system_text, *(m.content for m in request.messages)])
        return LLMResponse(
            text=text,
            model=request.model,
            provider=self.name,
            input_tokens=len(prompt.split()),
            output_tokens=min(words, request.max_tokens),
            stop_reason="length" if words >= request.max_tokens else "stop",
        )

    async def aclose(self) -> None:
        """Nothing to close."""
