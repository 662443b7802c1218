"""What one run may spend: the model it may pick and the most tokens it may ask for (settings, not users).

``options.model``, ``options.maxTokens`` and ``options.contextBudgetTokens`` come from whoever starts a run.
Left open, one API key could pick the most expensive model with the largest limits on every run. The
operator decides instead: :func:`check_spend` refuses a model that is neither ``LLM_MODEL`` nor listed in
``LLM_ALLOWED_MODELS``, and limits above ``LLM_MAX_TOKENS_CAP`` / ``CONTEXT_BUDGET_CAP_TOKENS``. It runs
where a run is accepted (``POST /runs``: a clear 422 naming the field) and again where it executes (runs
from the bot, schedules and workflows too), so no path skips it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marketing_agent.errors import ValidationFailed
from marketing_agent.settings import Settings


def allowed_models(settings: Settings) -> frozenset[str]:
    listed = {m.strip() for m in (settings.llm_allowed_models or "").split(",") if m.strip()}
    return frozenset(listed | ({settings.llm_model} if settings.llm_model else set()))


def check_spend(options: Mapping[str, Any] | None, settings: Settings) -> None:
    """Raise :class:`ValidationFailed` (field ``options.<name>``) when a run asks for more than allowed."""
    options = options or {}
    model = options.get("model")
    if model is not None and model not in allowed_models(settings):
        raise ValidationFailed(
            f"model {model!r} is not allowed on this server (LLM_ALLOWED_MODELS)", details=[{"field": "options.model"}]
        )
    caps = (
        ("maxTokens", "max_tokens", settings.llm_max_tokens_cap, "LLM_MAX_TOKENS_CAP"),
        (
            "contextBudgetTokens",
            "context_budget_tokens",
            settings.context_budget_cap_tokens,
            "CONTEXT_BUDGET_CAP_TOKENS",
        ),
    )
    for wire, name, cap, setting in caps:
        value = options.get(wire, options.get(name))
        if isinstance(value, int) and not isinstance(value, bool) and value > cap:
            raise ValidationFailed(
                f"options.{wire} is {value}; this server allows at most {cap} ({setting})",
                details=[{"field": f"options.{wire}"}],
            )
