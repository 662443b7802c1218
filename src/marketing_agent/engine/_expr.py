"""CEL expressions (trigger ``if``, cancel/wait matches, later flow-control keys), compiled once."""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import Any

import cel

from .errors import FunctionConfigInvalid

log = logging.getLogger(__name__)

#: Longest accepted expression. Inngest's own expressions are one or two comparisons; 1 KiB is generous.
MAX_EXPRESSION_CHARS = 1024
#: Comprehension macros (``all``, ``exists``, ``exists_one``, ``map``, ``filter``) per expression. The cel
#: package has no cost budget of its own, and one macro's cost is bounded by the event's size (256 KiB), but
#: a macro inside another multiplies two such sizes: an expression sent by whoever can register functions or
#: wait for events could then keep a worker busy for minutes. One macro, so no nesting.
MAX_COMPREHENSIONS = 1
_COMPREHENSION = re.compile(r"\.\s*(?:all|exists_one|exists|map|filter)\s*\(")


@lru_cache(maxsize=4096)
def compile_expr(source: str) -> Any:
    """Compile a CEL expression (cached by its text: each distinct expression is compiled once)."""
    if len(source) > MAX_EXPRESSION_CHARS:
        raise FunctionConfigInvalid(f"expression is {len(source)} characters; the limit is {MAX_EXPRESSION_CHARS}")
    if len(_COMPREHENSION.findall(source)) > MAX_COMPREHENSIONS:
        raise FunctionConfigInvalid(
            f"expression {source[:80]!r} uses more than {MAX_COMPREHENSIONS} all/exists/map/filter macro"
        )
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
