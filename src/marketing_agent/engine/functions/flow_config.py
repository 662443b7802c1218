"""Sync-time checks of a function's flow-control config: what Inngest refuses, we refuse, with the reason.

Bounds (Inngest server constants and docs): throttle and debounce periods 1 s..7 d, rate-limit period
1 s..24 h, at most 2 concurrency limits (``env``/``account`` scope need a ``key``), batch ``maxSize`` >= 1
and ``timeout`` 1 s..10 min. Batching cannot be combined with idempotency, rate limit, cancel, priority,
singleton or debounce. Every key and expression must compile as CEL.
"""

from __future__ import annotations

from typing import Any

from .._duration import duration_ms
from .._expr import compile_expr
from ..errors import FunctionConfigInvalid

SECOND = 1000
DAY = 86_400_000
MAX_CONCURRENCY_LIMITS = 2
BATCH_EXCLUSIVE = {
    "idempotency": "idempotency",
    "rateLimit": "rate limit",
    "cancel": "cancel_on",
    "priority": "priority",
    "singleton": "singleton",
    "debounce": "debounce",
}


def validate_flow(fid: str, cfg: dict[str, Any]) -> None:
    """Raise :class:`FunctionConfigInvalid` naming the function and the option at fault."""
    try:
        _validate(cfg)
    except FunctionConfigInvalid as exc:
        raise FunctionConfigInvalid(f"{fid}: {exc}") from exc
    except (ValueError, TypeError, KeyError) as exc:
        raise FunctionConfigInvalid(f"{fid}: invalid flow-control config: {exc}") from exc


def _validate(cfg: dict[str, Any]) -> None:
    batch = cfg.get("batchEvents")
    if batch:
        clashes = [label for key, label in BATCH_EXCLUSIVE.items() if cfg.get(key)]
        if clashes:
            raise FunctionConfigInvalid(f"batch_events cannot be combined with {', '.join(clashes)}")
        _obj(batch, "batch_events")
        if not isinstance(batch.get("maxSize"), int) or batch["maxSize"] < 1:
            raise FunctionConfigInvalid("batch_events.max_size must be a positive integer")
        _period(batch.get("timeout"), "batch_events.timeout", SECOND, 10 * 60 * SECOND, required=False)
        _cel(batch.get("key"), "batch_events.key")
        _cel(batch.get("if"), "batch_events.if")
    throttle = cfg.get("throttle")
    if throttle:
        _obj(throttle, "throttle")
        _limit(throttle.get("limit"), "throttle.limit")
        _period(throttle.get("period"), "throttle.period", SECOND, 7 * DAY)
        burst = throttle.get("burst")
        if burst is not None and (not isinstance(burst, int) or isinstance(burst, bool) or burst < 0):
            raise FunctionConfigInvalid("throttle.burst must be a non-negative integer")
        _cel(throttle.get("key"), "throttle.key")
    rate = cfg.get("rateLimit")
    if rate:
        _obj(rate, "rate_limit")
        _limit(rate.get("limit"), "rate_limit.limit")
        _period(rate.get("period"), "rate_limit.period", SECOND, DAY)
        _cel(rate.get("key"), "rate_limit.key")
    debounce = cfg.get("debounce")
    if debounce:
        _obj(debounce, "debounce")
        period = _period(debounce.get("period"), "debounce.period", SECOND, 7 * DAY)
        timeout = _period(debounce.get("timeout"), "debounce.timeout", SECOND, 7 * DAY, required=False)
        if timeout is not None and period is not None and timeout < period:
            raise FunctionConfigInvalid("debounce.timeout must be at least debounce.period")
        _cel(debounce.get("key"), "debounce.key")
    _concurrency(cfg.get("concurrency"))
    if cfg.get("idempotency"):
        if not isinstance(cfg["idempotency"], str):
            raise FunctionConfigInvalid("idempotency must be a CEL expression")
        _cel(cfg["idempotency"], "idempotency")
    priority = cfg.get("priority")
    if priority:
        _obj(priority, "priority")
        _cel(priority.get("run"), "priority.run")
    singleton = cfg.get("singleton")
    if singleton:
        _obj(singleton, "singleton")
        if singleton.get("mode") not in ("skip", "cancel"):
            raise FunctionConfigInvalid("singleton.mode must be 'skip' or 'cancel'")
        _cel(singleton.get("key"), "singleton.key")
    timeouts = cfg.get("timeouts")
    if timeouts:
        _obj(timeouts, "timeouts")
        _period(timeouts.get("start"), "timeouts.start", SECOND, 366 * DAY, required=False)
        _period(timeouts.get("finish"), "timeouts.finish", SECOND, 366 * DAY, required=False)


def _concurrency(rules: Any) -> None:
    if not rules:
        return
    if isinstance(rules, int):  # the short form of one limit
        rules = [{"limit": rules}]
    if not isinstance(rules, list):
        raise FunctionConfigInvalid("concurrency must be a list of limits")
    if len(rules) > MAX_CONCURRENCY_LIMITS:
        raise FunctionConfigInvalid(f"at most {MAX_CONCURRENCY_LIMITS} concurrency limits")
    for rule in rules:
        _obj(rule, "concurrency")
        limit = rule.get("limit")
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
            raise FunctionConfigInvalid("concurrency.limit must be a non-negative integer")
        scope = rule.get("scope") or "fn"
        if scope not in ("fn", "env", "account"):
            raise FunctionConfigInvalid("concurrency.scope must be fn, env or account")
        if scope != "fn" and not rule.get("key"):
            raise FunctionConfigInvalid(f"concurrency with scope {scope!r} needs a key")
        _cel(rule.get("key"), "concurrency.key")


def _obj(value: Any, name: str) -> None:
    if not isinstance(value, dict):
        raise FunctionConfigInvalid(f"{name} must be an object")


def _limit(value: Any, name: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise FunctionConfigInvalid(f"{name} must be a positive integer")


def _period(value: Any, name: str, low: int, high: int, *, required: bool = True) -> int | None:
    try:
        ms = duration_ms(value)
    except ValueError as exc:
        raise FunctionConfigInvalid(f"{name}: {exc}") from exc
    if ms is None:
        if required:
            raise FunctionConfigInvalid(f"{name} is required")
        return None
    if not low <= ms <= high:
        raise FunctionConfigInvalid(f"{name} must be between {_human(low)} and {_human(high)}, got {value!r}")
    return ms


def _cel(expression: Any, name: str) -> None:
    if expression in (None, ""):
        return
    if not isinstance(expression, str):
        raise FunctionConfigInvalid(f"{name} must be a CEL expression")
    try:
        compile_expr(expression)
    except FunctionConfigInvalid as exc:
        raise FunctionConfigInvalid(f"{name}: {exc}") from exc


def _human(ms: int) -> str:
    for unit, size in (("d", DAY), ("h", 3_600_000), ("m", 60_000), ("s", SECOND)):
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"
