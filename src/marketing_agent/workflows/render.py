"""A stage's message: its template over the inputs and earlier outputs, plus context and revision notes.

Rendering happens inside a durable step (its result is memoized), so reading outputs from storage here is
fine and every replay sees the same message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from jinja2 import StrictUndefined, TemplateError

from marketing_agent.errors import ValidationFailed
from marketing_agent.workflows.definition import TEMPLATES, WorkflowStage

#: A single earlier output handed over as context is cut here; the skill gets the beginning, which is where
#: the substance of a marketing draft is, instead of a prompt no model accepts.
CONTEXT_CHARS = 12_000


@dataclass(frozen=True, slots=True)
class StageOutput:
    """What an earlier stage produced, as the next stages see it."""

    title: str
    content: str


@dataclass(frozen=True, slots=True)
class Revision:
    """The previous draft of this stage and the reviewer's notes on it."""

    draft: str
    notes: str


def _clip(text: str) -> str:
    return text if len(text) <= CONTEXT_CHARS else text[:CONTEXT_CHARS] + "\n\n[… cut]"


def compose_message(
    stage: WorkflowStage,
    inputs: Mapping[str, str],
    outputs: Mapping[str, StageOutput],
    revision: Revision | None = None,
) -> str:
    env = TEMPLATES.overlay(undefined=StrictUndefined)
    stages = {name: {"title": out.title, "output": out.content} for name, out in outputs.items()}
    try:
        text = env.from_string(stage.message).render(inputs=dict(inputs), stages=stages).strip()
    except TemplateError as exc:
        raise ValidationFailed(f"stage {stage.name!r}: the message template failed: {exc}") from exc
    parts = [text]
    for name in stage.context:
        out = outputs.get(name)
        if out is not None:
            parts.append(f"## Context: the output of stage “{name}” ({out.title})\n\n{_clip(out.content)}")
    if revision is not None:
        parts.append(f"## Your previous draft\n\n{_clip(revision.draft)}")
        parts.append(
            "## Reviewer's notes\n\nRevise your previous draft according to these notes and return the whole "
            f"revised draft:\n\n{revision.notes.strip()}"
        )
    return "\n\n---\n\n".join(parts)


__all__ = ["CONTEXT_CHARS", "Revision", "StageOutput", "compose_message"]
