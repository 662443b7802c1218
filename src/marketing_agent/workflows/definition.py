"""Workflow definitions: the records and their validation.

A workflow is a small DAG of **stages**. Each stage runs one skill with a message rendered from a Jinja
template over the workflow's ``inputs`` and earlier stages' outputs (``stages.<name>.output`` /
``.title``), may receive earlier outputs as context, and may wait for a person's review. A stage depends on
the stages it names in ``after``, in ``context`` and in its template; stages that do not depend on each other
run in parallel.

Everything that can be wrong is found here, at load time, with the file and field in the message: an
unknown skill, a cycle, a template naming an input that is not declared (or a stage that is not earlier),
a bad duration. A definition that loads can run.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from jinja2 import TemplateSyntaxError, nodes
from jinja2.sandbox import SandboxedEnvironment

from marketing_agent.errors import ValidationFailed, WorkflowInvalid

NAME_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
MAX_NAME_CHARS = 64
MAX_STAGES = 20
MAX_INPUT_CHARS = 10_000
DEFAULT_REVIEW_TIMEOUT = timedelta(days=7)
#: A revision re-runs a stage with the reviewer's notes; after this many the reviewer must approve or reject.
MAX_REVISIONS = 3
_DURATION_RE = re.compile(r"(?P<value>\d+)\s*(?P<unit>[smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_STAGE_KEYS = frozenset({"name", "skill", "message", "approval", "context", "after", "description"})
_TOP_KEYS = frozenset({"name", "description", "inputs", "stages", "review_timeout"})
_INPUT_KEYS = frozenset({"name", "description", "required", "default"})

#: One environment for parsing and rendering: sandboxed (definitions may come from storage), strict about
#: undefined names so a typo is an error instead of an empty string in a prompt.
TEMPLATES = SandboxedEnvironment(autoescape=False, keep_trailing_newline=True)


@dataclass(frozen=True, slots=True)
class WorkflowInput:
    name: str
    description: str = ""
    required: bool = True
    default: str | None = None


@dataclass(frozen=True, slots=True)
class WorkflowStage:
    name: str
    skill: str
    message: str  # a Jinja template
    approval: bool = False
    context: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    description: str = ""
    #: Every stage this one waits for (``after`` ∪ ``context`` ∪ stages named in the template), sorted.
    depends_on: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class WorkflowDefinition:
    name: str
    description: str
    inputs: tuple[WorkflowInput, ...]
    stages: tuple[WorkflowStage, ...]  # in a topological order: every stage after the ones it depends on
    review_timeout: timedelta = DEFAULT_REVIEW_TIMEOUT
    origin: str = ""
    skills: frozenset[str] = field(default_factory=frozenset)

    def stage(self, name: str) -> WorkflowStage | None:
        return next((s for s in self.stages if s.name == name), None)

    def to_json(self) -> dict[str, Any]:
        """The definition as stored with a workflow run, so a later edit of the file never changes a run."""
        return {
            "name": self.name,
            "description": self.description,
            "review_timeout": int(self.review_timeout.total_seconds()),
            "inputs": [
                {"name": i.name, "description": i.description, "required": i.required, "default": i.default}
                for i in self.inputs
            ],
            "stages": [
                {
                    "name": s.name,
                    "skill": s.skill,
                    "message": s.message,
                    "approval": s.approval,
                    "context": list(s.context),
                    "after": list(s.after),
                    "description": s.description,
                }
                for s in self.stages
            ],
        }

    def resolve_inputs(self, given: Mapping[str, object]) -> dict[str, str]:
        """The run's inputs: given values (strings or numbers), defaults filled in; bad input is a 422."""
        declared = {i.name: i for i in self.inputs}
        unknown = sorted(set(given) - set(declared))
        if unknown:
            raise ValidationFailed(
                f"unknown input {unknown[0]!r} for workflow {self.name!r}",
                details=[{"field": f"inputs.{name}", "message": "not an input of this workflow"} for name in unknown],
            )
        values: dict[str, str] = {}
        for spec in self.inputs:
            raw = given.get(spec.name)
            if raw is None:
                if spec.required and spec.default is None:
                    raise ValidationFailed(
                        f"missing input {spec.name!r}",
                        details=[{"field": f"inputs.{spec.name}", "message": "required"}],
                    )
                values[spec.name] = spec.default or ""
                continue
            if isinstance(raw, bool) or not isinstance(raw, str | int | float):
                raise ValidationFailed(
                    f"input {spec.name!r} must be a string or a number",
                    details=[{"field": f"inputs.{spec.name}", "message": "must be a string or a number"}],
                )
            text = str(raw)
            if len(text) > MAX_INPUT_CHARS or (spec.required and not text.strip()):
                raise ValidationFailed(
                    f"input {spec.name!r} must be 1-{MAX_INPUT_CHARS:,} characters",
                    details=[{"field": f"inputs.{spec.name}", "message": "empty or too long"}],
                )
            values[spec.name] = text
        return values


def parse_duration(value: object, where: str) -> timedelta:
    """``"7d"``, ``"12h"``, ``"1h30m"``, ``"45s"`` or a number of seconds."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return timedelta(seconds=value)
    if isinstance(value, str):
        text = value.strip().lower()
        parts = list(_DURATION_RE.finditer(text))
        if parts and "".join(m.group(0) for m in parts).replace(" ", "") == text.replace(" ", ""):
            seconds = sum(int(m.group("value")) * _UNIT_SECONDS[m.group("unit")] for m in parts)
            if seconds > 0:
                return timedelta(seconds=seconds)
    raise _invalid(where, "review_timeout", f"must be a duration like '7d', '12h', '30m' or '45s', got {value!r}")


def parse_definition(raw: object, origin: str, known_skills: Collection[str]) -> WorkflowDefinition:
    """Validate one definition (already parsed from YAML); :class:`WorkflowInvalid` names what is wrong."""
    if not isinstance(raw, dict):
        raise _invalid(origin, "", "a workflow must be a YAML mapping")
    _no_extra(raw, _TOP_KEYS, origin, "")
    name = _name(raw.get("name"), origin, "name")
    description = _text(raw.get("description"), origin, "description", required=True)
    timeout = (
        parse_duration(raw["review_timeout"], origin)
        if raw.get("review_timeout") is not None
        else DEFAULT_REVIEW_TIMEOUT
    )
    inputs = _inputs(raw.get("inputs"), origin)
    stages = _stages(raw.get("stages"), origin, {i.name for i in inputs}, known_skills)
    return WorkflowDefinition(
        name=name,
        description=description,
        inputs=inputs,
        stages=_topological(stages, origin),
        review_timeout=timeout,
        origin=origin,
        skills=frozenset(s.skill for s in stages),
    )


def definition_from_json(raw: Mapping[str, Any]) -> WorkflowDefinition:
    """A stored definition (:meth:`WorkflowDefinition.to_json`) back as a record; it was validated at start."""
    stages = [
        WorkflowStage(
            name=s["name"],
            skill=s["skill"],
            message=s["message"],
            approval=bool(s["approval"]),
            context=tuple(s["context"]),
            after=tuple(s["after"]),
            description=s.get("description") or "",
            depends_on=_dependencies(s["name"], tuple(s["after"]), tuple(s["context"]), s["message"], "stored"),
        )
        for s in raw["stages"]
    ]
    return WorkflowDefinition(
        name=raw["name"],
        description=raw["description"],
        inputs=tuple(WorkflowInput(**i) for i in raw["inputs"]),
        stages=tuple(stages),
        review_timeout=timedelta(seconds=int(raw["review_timeout"])),
        origin="stored",
        skills=frozenset(s.skill for s in stages),
    )


# --- pieces ----------------------------------------------------------------------------------------
def _invalid(origin: str, where: str, reason: str) -> WorkflowInvalid:
    path = f"{origin}: {where}" if where else origin
    return WorkflowInvalid(f"{path}: {reason}", details={"path": origin, "field": where or None, "reason": reason})


def _no_extra(raw: Mapping[str, Any], allowed: frozenset[str], origin: str, where: str) -> None:
    extra = sorted(str(k) for k in raw if k not in allowed)
    if extra:
        label = f"{where}.{extra[0]}" if where else extra[0]
        raise _invalid(origin, label, f"unknown field (allowed: {', '.join(sorted(allowed))})")


def _name(value: object, origin: str, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise _invalid(origin, where, "is required and must be a string")
    if len(value) > MAX_NAME_CHARS or not NAME_RE.fullmatch(value):
        raise _invalid(origin, where, f"{value!r} must be lowercase letters, digits and single hyphens")
    return value


def _text(value: object, origin: str, where: str, *, required: bool = False) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise _invalid(origin, where, "is required and must be a non-empty string" if required else "must be a string")
    return value.strip()


def _names(value: object, origin: str, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _invalid(origin, where, "must be a list of stage names")
    return tuple(value)


def _inputs(raw: object, origin: str) -> tuple[WorkflowInput, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise _invalid(origin, "inputs", "must be a list")
    found: list[WorkflowInput] = []
    for index, item in enumerate(raw):
        where = f"inputs[{index}]"
        if not isinstance(item, dict):
            raise _invalid(origin, where, "must be a mapping with a name")
        _no_extra(item, _INPUT_KEYS, origin, where)
        name = item.get("name")
        if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise _invalid(origin, f"{where}.name", "must be a lowercase identifier (letters, digits, _)")
        if any(i.name == name for i in found):
            raise _invalid(origin, f"{where}.name", f"input {name!r} is declared twice")
        required = item.get("required", True)
        if not isinstance(required, bool):
            raise _invalid(origin, f"{where}.required", "must be true or false")
        default = item.get("default")
        if default is not None and not isinstance(default, str | int | float):
            raise _invalid(origin, f"{where}.default", "must be a string or a number")
        found.append(
            WorkflowInput(
                name=name,
                description=_text(item.get("description"), origin, f"{where}.description"),
                required=required,
                default=None if default is None else str(default),
            )
        )
    return tuple(found)


def _stages(raw: object, origin: str, input_names: set[str], known_skills: Collection[str]) -> list[WorkflowStage]:
    if not isinstance(raw, list) or not raw:
        raise _invalid(origin, "stages", "must be a non-empty list")
    if len(raw) > MAX_STAGES:
        raise _invalid(origin, "stages", f"at most {MAX_STAGES} stages")
    stages: list[WorkflowStage] = []
    declared = [item.get("name") for item in raw if isinstance(item, dict)]
    for index, item in enumerate(raw):
        where = f"stages[{index}]"
        if not isinstance(item, dict):
            raise _invalid(origin, where, "must be a mapping")
        _no_extra(item, _STAGE_KEYS, origin, where)
        name = _name(item.get("name"), origin, f"{where}.name")
        where = f"stages.{name}"
        if any(s.name == name for s in stages):
            raise _invalid(origin, f"{where}.name", f"stage {name!r} is declared twice")
        skill = item.get("skill")
        if not isinstance(skill, str) or not skill:
            raise _invalid(origin, f"{where}.skill", "is required")
        if skill not in known_skills:
            raise _invalid(origin, f"{where}.skill", f"unknown skill {skill!r}")
        message = _text(item.get("message"), origin, f"{where}.message", required=True)
        approval = item.get("approval", False)
        if not isinstance(approval, bool):
            raise _invalid(origin, f"{where}.approval", "must be true or false")
        context = _names(item.get("context"), origin, f"{where}.context")
        after = _names(item.get("after"), origin, f"{where}.after")
        for field_name, refs in (("context", context), ("after", after)):
            for ref in refs:
                if ref == name:
                    raise _invalid(origin, f"{where}.{field_name}", "a stage cannot depend on itself")
                if ref not in declared:
                    raise _invalid(origin, f"{where}.{field_name}", f"unknown stage {ref!r}")
        _check_template(message, origin, f"{where}.message", input_names, declared, name)
        stages.append(
            WorkflowStage(
                name=name,
                skill=skill,
                message=message,
                approval=approval,
                context=context,
                after=after,
                description=_text(item.get("description"), origin, f"{where}.description"),
                depends_on=_dependencies(name, after, context, message, origin),
            )
        )
    return stages


def _template_refs(message: str, origin: str, where: str) -> tuple[set[str], set[str], set[str]]:
    """(inputs named, stages named, other top-level names) in a message template."""
    try:
        tree = TEMPLATES.parse(message)
    except TemplateSyntaxError as exc:
        raise _invalid(origin, where, f"template error on line {exc.lineno}: {exc.message}") from exc
    inputs: set[str] = set()
    stages: set[str] = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        key: object
        if isinstance(node, nodes.Getattr):
            target, key = node.node, node.attr
        elif isinstance(node, nodes.Getitem):
            target, key = node.node, getattr(node.arg, "value", None)
        else:
            continue
        if isinstance(target, nodes.Name) and isinstance(key, str):
            if target.name == "inputs":
                inputs.add(key)
            elif target.name == "stages":
                stages.add(key)
    names = {n.name for n in tree.find_all(nodes.Name) if n.ctx == "load"}
    return inputs, stages, names - {"inputs", "stages"}


def _check_template(
    message: str, origin: str, where: str, input_names: set[str], stage_names: Sequence[object], own: str
) -> None:
    inputs, stages, others = _template_refs(message, origin, where)
    if others:
        raise _invalid(origin, where, f"unknown name {sorted(others)[0]!r} (use inputs.<name> or stages.<name>)")
    for name in sorted(inputs):
        if name not in input_names:
            raise _invalid(origin, where, f"missing input {name!r}: declare it under inputs")
    for name in sorted(stages):
        if name == own or name not in stage_names:
            raise _invalid(origin, where, f"unknown stage {name!r} in the template")


def _dependencies(
    name: str, after: tuple[str, ...], context: tuple[str, ...], message: str, origin: str
) -> tuple[str, ...]:
    _, template_stages, _ = _template_refs(message, origin, f"stages.{name}.message")
    return tuple(sorted(set(after) | set(context) | template_stages))


def _topological(stages: list[WorkflowStage], origin: str) -> tuple[WorkflowStage, ...]:
    """Stages ordered so each comes after its dependencies (declaration order among equals); a cycle is an error."""
    placed: list[WorkflowStage] = []
    done: set[str] = set()
    remaining = list(stages)
    while remaining:
        ready = [s for s in remaining if set(s.depends_on) <= done]
        if not ready:
            cycle = " → ".join(s.name for s in remaining)
            raise _invalid(origin, "stages", f"dependency cycle among stages: {cycle}")
        for stage in ready:
            placed.append(stage)
            done.add(stage.name)
        remaining = [s for s in remaining if s.name not in done]
    return tuple(placed)


__all__ = [
    "DEFAULT_REVIEW_TIMEOUT",
    "MAX_REVISIONS",
    "TEMPLATES",
    "WorkflowDefinition",
    "WorkflowInput",
    "WorkflowStage",
    "definition_from_json",
    "parse_definition",
    "parse_duration",
]
