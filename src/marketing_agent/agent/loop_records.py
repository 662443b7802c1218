"""The JSON records the durable agent loop stores: its plan, each model turn, and the conversation.

Every record is a step's return value (the engine memoizes it as JSON) or is rebuilt from them on replay,
so each has ``to_json``/``from_json`` and holds plain values only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from marketing_agent.agent.llm import Message, ToolCall, ToolResult
from marketing_agent.agent.tools import ToolSetup


@dataclass(frozen=True, slots=True)
class LoopLimits:
    max_turns: int
    max_tool_calls: int
    max_cost_usd: float
    max_tokens: int
    max_output_tokens: int  # of one turn (the run's, else the skill's ``max_tokens``)


@dataclass(frozen=True, slots=True)
class LoopPlan:
    """What the ``plan-skill`` step decided, once per run: tools, limits and warnings to carry."""

    skill: str
    tools: ToolSetup
    limits: LoopLimits
    warnings: tuple[str, ...] = ()

    @property
    def uses_tools(self) -> bool:
        return self.tools.any

    def to_json(self) -> dict[str, Any]:
        return {
            "skill": self.skill,
            "tools": self.tools.to_json(),
            "limits": asdict(self.limits),
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> LoopPlan:
        return cls(
            skill=raw["skill"],
            tools=ToolSetup.from_json(raw["tools"]),
            limits=LoopLimits(**raw["limits"]),
            warnings=tuple(raw["warnings"]),
        )


@dataclass(frozen=True, slots=True)
class TurnRecord:
    """One model turn (the ``llm-turn-N`` step's value)."""

    text: str
    model: str
    provider: str
    tool_calls: tuple[ToolCall, ...] = ()
    provider_content: tuple[dict[str, Any], ...] = ()
    stop_reason: str | None = None
    tokens_input: int = 0  # every input token read, cached ones included
    tokens_output: int = 0
    cache_creation_tokens: int = 0
    cache_read_tokens: int = 0
    server_searches: int = 0
    cost_usd: float | None = None
    latency_seconds: float = 0.0
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["tool_calls"] = [asdict(c) for c in self.tool_calls]
        data["provider_content"] = list(self.provider_content)
        data["warnings"] = list(self.warnings)
        return data

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> TurnRecord:
        values = dict(raw)
        values["tool_calls"] = tuple(ToolCall(**c) for c in raw.get("tool_calls") or ())
        values["provider_content"] = tuple(raw.get("provider_content") or ())
        values["warnings"] = tuple(raw.get("warnings") or ())
        return cls(**values)

    def as_message(self) -> Message:
        return Message("assistant", self.text, tool_calls=self.tool_calls, provider_content=self.provider_content)

    def summary(self, number: int, tool_call_ids: list[str]) -> dict[str, Any]:
        """The public view (API run detail): no text, only what happened and what it cost."""
        return {
            "turn": number,
            "model": self.model,
            "stop_reason": self.stop_reason,
            "tokens_input": self.tokens_input,
            "tokens_output": self.tokens_output,
            "cost_usd": self.cost_usd,
            "latency_seconds": round(self.latency_seconds, 3),
            "tool_calls": tool_call_ids,
            "server_searches": self.server_searches,
        }


@dataclass(slots=True)
class Transcript:
    """The conversation after the first user message, rebuilt from memoized steps on every replay."""

    messages: list[Message] = field(default_factory=list)

    def add_turn(self, turn: TurnRecord) -> None:
        self.messages.append(turn.as_message())

    def add_results(self, results: list[ToolResult], note: str = "") -> None:
        self.messages.append(Message("user", note, tool_results=tuple(results)))

    def to_json(self) -> list[dict[str, Any]]:
        return [message_to_json(m) for m in self.messages]


def message_to_json(message: Message) -> dict[str, Any]:
    return {
        "role": message.role,
        "content": message.content,
        "tool_calls": [asdict(c) for c in message.tool_calls],
        "tool_results": [asdict(r) for r in message.tool_results],
        "provider_content": list(message.provider_content),
    }


def message_from_json(raw: dict[str, Any]) -> Message:
    return Message(
        role=raw["role"],
        content=raw["content"],
        tool_calls=tuple(ToolCall(**c) for c in raw.get("tool_calls") or ()),
        tool_results=tuple(ToolResult(**r) for r in raw.get("tool_results") or ()),
        provider_content=tuple(raw.get("provider_content") or ()),
    )
