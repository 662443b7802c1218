"""Small helpers the function modules share: error classification and JSON forms of step results.

Step results are memoized by the engine as JSON, so every step returns plain dicts, lists and scalars;
these helpers turn the frozen records of :mod:`marketing_agent.functions.deps` into that form and back.

Logging: code in a function's body runs again on every replay, so it logs through ``ctx.logger``, which
the SDK keeps silent while it replays memoized steps (each line appears once per run). Code inside a step
runs once per attempt and uses the module's ``logging.getLogger(__name__)``.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

import inngest

from marketing_agent.errors import LLMError, MarketingAgentError
from marketing_agent.functions.deps import AlertRecord, ChannelTarget, Notifications


def is_permanent(exc: BaseException) -> bool:
    """True when retrying cannot help.

    Only our own errors know they are permanent (and say so with ``retryable``). Anything else may be
    transient — or a bug — so it is retried, and ``on_failure`` records it if it keeps happening. The
    decision uses the error's type, never its message text.
    """
    return isinstance(exc, MarketingAgentError) and not exc.retryable


def failure_result(exc: BaseException) -> dict[str, Any]:
    """A permanent error as a step result: the function reads it and takes its failure path."""
    code = exc.code if isinstance(exc, MarketingAgentError) else type(exc).__name__
    return {"failed": True, "code": code, "error": str(exc) or code}


def retry_later(exc: Exception) -> Exception:
    """The error to raise for a retryable failure: honour the provider's Retry-After when it sent one."""
    if isinstance(exc, LLMError) and exc.retry_after_seconds:
        delay = timedelta(seconds=max(1, math.ceil(exc.retry_after_seconds)))
        return inngest.RetryAfterError(str(exc), delay)
    return exc


def step_safe(text: str) -> str:
    """A label as it may appear in a step id (ids are hashed, but stay readable in the dashboard)."""
    return "".join(ch if ch.isalnum() or ch in "-_.:@" else "-" for ch in text)


def alert_to_json(alert: AlertRecord) -> dict[str, Any]:
    return {**asdict(alert), "links": list(alert.links)}


def alert_from_json(raw: dict[str, Any]) -> AlertRecord:
    return AlertRecord(**{**raw, "links": tuple(raw.get("links") or ())})


@dataclass(frozen=True, slots=True)
class Deliveries:
    """What a fan-out of per-target steps achieved, by target label."""

    sent: list[str] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)  # permanent refusals (not retried)
    failed: dict[str, str] = field(default_factory=dict)  # retries used up

    def to_json(self) -> dict[str, Any]:
        return {"sent": self.sent, "rejected": self.rejected, "failed": self.failed}


async def send_each(
    ctx: inngest.Context,
    targets: Sequence[ChannelTarget],
    step_id: Callable[[ChannelTarget], str],
    send: Callable[[ChannelTarget], Awaitable[None]],
) -> Deliveries:
    """One step per target, so a failing target is retried alone and the others are never re-sent.

    A permanent refusal (chat not found, address refused) ends its step at once as a recorded value; a
    target that keeps failing until its retries are used up is noted and the fan-out goes on with the
    next target instead of failing the whole run.
    """
    result = Deliveries()
    for target in targets:

        async def one(target: ChannelTarget = target) -> dict[str, Any]:
            try:
                await send(target)
            except Exception as exc:
                if is_permanent(exc):
                    return failure_result(exc)
                raise
            return {"failed": False}

        try:
            outcome = await ctx.step.run(step_id(target), one)
        except inngest.StepError as exc:
            ctx.logger.error("delivery to %s failed after retries: %s", target.label, exc.message)
            result.failed[target.label] = exc.message
            continue
        if outcome["failed"]:
            ctx.logger.warning("delivery to %s refused: %s", target.label, outcome["error"])
            result.rejected[target.label] = str(outcome["error"])
        else:
            result.sent.append(target.label)
    return result


async def deliver_alert(
    ctx: inngest.Context, notifications: Notifications, alert: AlertRecord, *, step_prefix: str
) -> Deliveries:
    """Send ``alert`` to every alert channel, one step each (``<step_prefix>-<channel label>``), then mark
    each channel that got it in a step of its own (``…-recorded``): the sending step checks the mark first,
    and a failure while marking retries only the mark — never the send."""

    async def send(target: ChannelTarget) -> None:
        await notifications.send_alert(alert, target)

    def step_id(target: ChannelTarget) -> str:
        return f"{step_prefix}-{step_safe(target.label)}"

    targets = notifications.alert_targets()
    if not targets:
        ctx.logger.warning("alert %s not delivered: ALERT_CHANNELS names no usable channel", alert.id)
    deliveries = await send_each(ctx, targets, step_id, send)
    for target in targets:
        if target.label not in deliveries.sent:
            continue

        async def record(target: ChannelTarget = target) -> None:
            await notifications.mark_alert_delivered(alert, target)

        await ctx.step.run(f"{step_id(target)}-recorded", record)
    return deliveries
