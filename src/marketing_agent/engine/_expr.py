"""CEL expressions (trigger ``if``, cancel/wait matches, later flow-control keys), compiled once."""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

import cel

from .errors import FunctionConfigInvalid

log = logging.getLogger(__name__)


@lru_cache(maxsize=4096)
def compile_expr(source: str) -> Any:
    """Compile a CEL expression (cached by its text: each distinct expression is compiled once)."""
    try:
        return cel.compile(source)
    except Exception as exc:  # the cel package raises ValueError on a parse error
        raise FunctionConfigInvalid(f"invalid expression {source!r}: {exc}") from exc


def evaluate(source: str, variables: dict[str, Any]) -> Any:
    return compile_expr(source).execute(variables)


def matches(source: str | None, variables: dict[str, Any]) -> bool:
    """True when the expression is empty or evaluates to true; an evaluation error counts as no match."""
    if not source:
        return True
    try:
        return evaluate(source, variables) is True
    except Exception as exc:  # missing keys and type errors are "does not match", as in Inngest
        log.debug("expression %r did not evaluate: %s", source, exc)
        return False
