"""In-memory index of the active functions, reloaded from the store when any process re-syncs an app."""

from __future__ import annotations

import logging
from typing import Any

from .._expr import matches
from ..store import Store
from .model import FunctionDef, parse_function

log = logging.getLogger(__name__)


class Registry:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._version: str | None = None
        self.functions: dict[str, FunctionDef] = {}
        self._by_event: dict[str, list[FunctionDef]] = {}
        self._wildcards: list[FunctionDef] = []

    async def refresh(self, force: bool = False) -> bool:
        version = await self._store.functions_version()
        if not force and version == self._version:
            return False
        rows = await self._store.active_functions()
        functions: dict[str, FunctionDef] = {}
        for row in rows:
            try:
                functions[row["id"]] = parse_function(row["app_id"], row["config"])
            except Exception:  # a config stored by an older engine that no longer validates
                log.exception("skipping function %s: invalid stored config", row["id"])
        by_event: dict[str, list[FunctionDef]] = {}
        wildcards: list[FunctionDef] = []
        for fn in functions.values():
            for trig in fn.triggers:
                if trig.event is None:
                    continue
                if trig.event.endswith("*"):
                    if fn not in wildcards:
                        wildcards.append(fn)
                else:
                    lst = by_event.setdefault(trig.event, [])
                    if fn not in lst:
                        lst.append(fn)
        self.functions, self._by_event, self._wildcards = functions, by_event, wildcards
        self._version = version
        return True

    def get(self, function_id: str) -> FunctionDef | None:
        return self.functions.get(function_id)

    def match(self, event: dict[str, Any]) -> list[FunctionDef]:
        """Functions triggered by this event (name, wildcard, and the trigger's CEL ``if``)."""
        name = event.get("name", "")
        candidates = list(self._by_event.get(name, ()))
        candidates += [f for f in self._wildcards if f not in candidates]
        out = []
        for fn in candidates:
            for trig in fn.triggers:
                if trig.matches_name(name) and matches(trig.expression, {"event": event}):
                    out.append(fn)
                    break
        return out
