"""Registered apps and functions: validation of the SDK's config JSON, and the trigger index."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from .._duration import parse_duration
from .._expr import compile_expr
from ..errors import FunctionConfigInvalid
from .flow_config import validate_flow

MAX_TRIGGERS = 10
MAX_RETRIES = 20
DEFAULT_RETRIES = 4
MAX_CANCEL_RULES = 5


@dataclass(frozen=True)
class CronSpec:
    expression: str  # as registered, possibly with a TZ= prefix
    cron: str
    tz: str

    @staticmethod
    def parse(text: str) -> CronSpec:
        expr = text.strip()
        tz = "UTC"
        if expr.startswith(("TZ=", "CRON_TZ=")):
            head, _, expr = expr.partition(" ")
            tz = head.split("=", 1)[1]
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise FunctionConfigInvalid(f"unknown time zone in cron {text!r}") from exc
        if not croniter.is_valid(expr.strip()):
            raise FunctionConfigInvalid(f"invalid cron expression {text!r}")
        return CronSpec(expression=text, cron=expr.strip(), tz=tz)


@dataclass(frozen=True)
class Trigger:
    event: str | None = None
    expression: str | None = None
    cron: CronSpec | None = None

    def matches_name(self, name: str) -> bool:
        if self.event is None:
            return False
        if self.event.endswith("*"):
            return name.startswith(self.event[:-1])
        return name == self.event


@dataclass(frozen=True)
class FunctionDef:
    """A function as registered: its parsed essentials plus the full config JSON (for flow control)."""

    id: str  # composite slug, e.g. "my-app-send-email"
    app_id: str
    name: str
    url: str  # runtime URL (with ?fnId=…&stepId=step)
    retries: int
    triggers: tuple[Trigger, ...]
    cancel: tuple[dict[str, Any], ...]
    config: dict[str, Any] = field(hash=False, compare=False)

    @property
    def max_attempts(self) -> int:
        return self.retries + 1

    @property
    def is_failure_handler(self) -> bool:
        return any(t.event == "inngest/function.failed" for t in self.triggers) and self.id.endswith("-failure")


def parse_function(app_id: str, cfg: dict[str, Any]) -> FunctionDef:
    if not isinstance(cfg, dict):
        raise FunctionConfigInvalid("each function must be a JSON object")
    fid = cfg.get("id")
    if not isinstance(fid, str) or not fid:
        raise FunctionConfigInvalid("function id is required")
    name = cfg.get("name") or fid
    steps = cfg.get("steps")
    if not isinstance(steps, dict) or not steps:
        raise FunctionConfigInvalid(f"{fid}: steps are required")
    step = next(iter(steps.values()))
    runtime = step.get("runtime") if isinstance(step, dict) else None
    if not isinstance(runtime, dict):
        raise FunctionConfigInvalid(f"{fid}: step runtime is required")
    url = runtime.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise FunctionConfigInvalid(f"{fid}: step runtime url is required")
    retries_cfg = (step.get("retries") or {}).get("attempts")
    retries = DEFAULT_RETRIES if retries_cfg is None else retries_cfg
    if not isinstance(retries, int) or not 0 <= retries <= MAX_RETRIES:
        raise FunctionConfigInvalid(f"{fid}: retries must be between 0 and {MAX_RETRIES}")
    raw_triggers = cfg.get("triggers") or []
    if not isinstance(raw_triggers, list) or not raw_triggers:
        raise FunctionConfigInvalid(f"{fid}: at least one trigger is required")
    if len(raw_triggers) > MAX_TRIGGERS:
        raise FunctionConfigInvalid(f"{fid}: at most {MAX_TRIGGERS} triggers")
    triggers = []
    for raw in raw_triggers:
        if not isinstance(raw, dict):
            raise FunctionConfigInvalid(f"{fid}: invalid trigger {raw!r}")
        if raw.get("cron"):
            triggers.append(Trigger(cron=CronSpec.parse(str(raw["cron"]))))
        elif raw.get("event"):
            expression = raw.get("expression") or None
            if expression:
                compile_expr(expression)
            triggers.append(Trigger(event=str(raw["event"]), expression=expression))
        else:
            raise FunctionConfigInvalid(f"{fid}: a trigger needs an event or a cron")
    cancel = tuple(cfg.get("cancel") or ())
    if len(cancel) > MAX_CANCEL_RULES:
        raise FunctionConfigInvalid(f"{fid}: at most {MAX_CANCEL_RULES} cancel rules")
    for rule in cancel:
        if not isinstance(rule, dict) or not rule.get("event"):
            raise FunctionConfigInvalid(f"{fid}: a cancel rule needs an event")
        if rule.get("if"):
            compile_expr(rule["if"])
        try:
            parse_duration(rule.get("timeout"))
        except ValueError as exc:
            raise FunctionConfigInvalid(f"{fid}: {exc}") from exc
    for key in ("concurrency",):
        if cfg.get(key) and len(cfg[key]) > 2:
            raise FunctionConfigInvalid(f"{fid}: at most 2 concurrency limits")
    validate_flow(fid, cfg)
    return FunctionDef(
        id=fid,
        app_id=app_id,
        name=str(name),
        url=url,
        retries=retries,
        triggers=tuple(triggers),
        cancel=cancel,
        config=cfg,
    )


def parse_app(payload: dict[str, Any]) -> tuple[str, list[FunctionDef]]:
    """Validate a ``/fn/register`` body; returns (app id, functions) or raises FunctionConfigInvalid."""
    app_id = payload.get("appname") or payload.get("appName") or payload.get("app_name")
    if not isinstance(app_id, str) or not app_id:
        raise FunctionConfigInvalid("appname is required")
    url = payload.get("url")
    if not isinstance(url, str) or not url:
        raise FunctionConfigInvalid("url is required")
    raw = payload.get("functions")
    if not isinstance(raw, list):
        raise FunctionConfigInvalid("functions must be a list")
    fns = [parse_function(app_id, cfg) for cfg in raw]
    ids = [f.id for f in fns]
    if len(set(ids)) != len(ids):
        raise FunctionConfigInvalid("duplicate function ids")
    return app_id, fns
