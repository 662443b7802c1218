"""Small-model mode: a skill's deliverable written one required section at a time.

The offline model (SmolLM2-135M) cannot hold a whole skill and write a whole page in one answer: asked for
everything at once it returns a few hundred tokens of generic prose with none of the required headings.
It can write one short section when the prompt is short and says exactly which one. So with the local
provider a run is **planned** from the skill's ``required_sections`` (:func:`plan_sections`) and each
section is a separate call (:func:`write_section`, one durable step each in ``skill-execute``):

* the prompt holds only what a 135M model can use: the skill's one-line purpose, the client's files cut to
  a small budget, the user's brief, the names of the sections written so far and, when the skill's
  ``## Output format`` template shows one, the format of this section. The earlier sections' *text* is
  left out on purpose: shown it, the model copies their opening lines into every later section (measured
  in docs/llm.md: 53 % and 31 % of lines repeating a 5-gram, against 0 % and 14 % without);
* the heading is **forced**: it is the start of the answer the model continues (``LLMRequest.prefill``),
  so every required section is present by construction, and the model's own prose is all that follows it;
* a tight token limit per section, a repetition penalty, and the other required headings as stop strings.

What the model wrote is kept as written, only tidied (:func:`clean_section_body`): a heading naming a
later section ends it, a stray heading of the section's level is demoted, a sentence cut by the token
limit is dropped. Nothing is filled in for the model: an empty section stays empty and says so in a warning.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from marketing_agent.agent.cleaning import check_format, clean_output, heading_key, normalize_markdown
from marketing_agent.agent.context import assemble_client_context
from marketing_agent.agent.execute import SkillOptions, SkillResult
from marketing_agent.agent.llm import LLMProvider, LLMRequest, Message, SystemPart, choose_model, cost_usd
from marketing_agent.agent.skill import Skill
from marketing_agent.storage import ObjectStore

__all__ = [
    "PROFILE_BUDGET_TOKENS",
    "SECTION_MAX_TOKENS",
    "SECTION_MIN_TOKENS",
    "SECTION_REPETITION_PENALTY",
    "SECTION_TEMPERATURE",
    "SectionPlan",
    "WrittenSection",
    "build_section_request",
    "clean_section_body",
    "join_sections",
    "plan_sections",
    "run_title",
    "section_format",
    "write_section",
]

logger = logging.getLogger(__name__)

#: Most output tokens per section: enough for a paragraph, a short list or a five-row table, short enough
#: that a 135M model stops before it starts repeating itself.
SECTION_MAX_TOKENS = 160
#: The fewest tokens a section gets when a run's ``maxTokens`` is split over many sections.
SECTION_MIN_TOKENS = 24
#: Sampling for a small model: cooler than the skills' own temperatures (set for large models), which
#: make a 135M model drift off topic; a run's ``temperature`` option still wins.
SECTION_TEMPERATURE = 0.4
#: Stronger than llama.cpp's usual 1.1 against loops, weaker than ~1.3, where the small model starts
#: avoiding common words and slides into other languages.
SECTION_REPETITION_PENALTY = 1.15
#: The client's files in each section prompt, in (estimated) tokens: the profile, then what else fits.
PROFILE_BUDGET_TOKENS = 400
#: The format hint of one section, in characters.
FORMAT_HINT_CHARS = 500

_HEADING_LINE = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_CLIENT_FILE_TAG = re.compile(r'^<client_file path="([^"]*)"[^>]*>$|^</client_file>$', re.MULTILINE)
_SENTENCE_END = re.compile(r"[.!?)\]|*]\s*$")


@dataclass(frozen=True, slots=True)
class SectionPlan:
    """How a run is written: its sections (heading lines as the skill spells them) and the limit of each."""

    title: str
    headings: tuple[str, ...]
    max_tokens: int

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "headings": list(self.headings), "maxTokens": self.max_tokens}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SectionPlan:
        return cls(title=str(data["title"]), headings=tuple(data["headings"]), max_tokens=int(data["maxTokens"]))


@dataclass(frozen=True, slots=True)
class WrittenSection:
    """One section as the model wrote it (body without the heading), with what the call cost."""

    heading: str
    body: str
    model: str
    provider: str
    tokens_input: int
    tokens_output: int
    cost_usd: float | None = None
    stop_reason: str | None = None
    latency_seconds: float = 0.0
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "warnings": list(self.warnings)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WrittenSection:
        return cls(**{**data, "warnings": tuple(data.get("warnings") or ())})


def _level(heading: str) -> int:
    match = _HEADING_LINE.match(heading.strip())
    return len(match.group(1)) if match else 2


def _heading_line(heading: str) -> str:
    """A required section as a markdown heading line (a bare name becomes a level-2 heading)."""
    heading = heading.strip()
    return heading if _HEADING_LINE.match(heading) else f"## {heading}"


def run_title(message: str, fallback: str, *, max_chars: int = 80) -> str:
    """The output's title: the first line of the user's brief, as plain text."""
    first = next((line for line in message.splitlines() if line.strip()), "")
    first = re.sub(r"^[#>\-*\s]+|[*_`]", "", first).strip()
    if not first:
        return fallback
    return first if len(first) <= max_chars else first[: max_chars - 1].rstrip() + "…"


def plan_sections(skill: Skill, message: str, options: SkillOptions) -> SectionPlan | None:
    """The plan for ``skill``, or None when the skill has no sections to write one by one (no
    ``required_sections``, or a JSON deliverable): such a skill runs as one call."""
    if (skill.metadata.output_format or "").strip().lower() == "json":
        return None
    headings = tuple(_heading_line(h) for h in skill.metadata.required_sections if heading_key(h))
    if not headings:
        return None
    per_section = SECTION_MAX_TOKENS
    if options.max_tokens:
        per_section = max(SECTION_MIN_TOKENS, min(SECTION_MAX_TOKENS, options.max_tokens // len(headings)))
    return SectionPlan(title=run_title(message, skill.name), headings=headings, max_tokens=per_section)


def section_format(skill: Skill, heading: str) -> str:
    """What the skill's output template shows under ``heading`` (the lines up to the next heading of the
    same or a higher level inside a fenced block of the instructions), or "" when it shows nothing."""
    key, level = heading_key(heading), _level(heading)
    lines = skill.instructions.splitlines()
    in_fence = False
    for index, line in enumerate(lines):
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        match = _HEADING_LINE.match(line.strip())
        if not (in_fence and match and heading_key(line) == key):
            continue
        body: list[str] = []
        for following in lines[index + 1 :]:
            inner = _HEADING_LINE.match(following.strip())
            if _FENCE.match(following) or (inner and len(inner.group(1)) <= level):
                break
            body.append(following.rstrip())
        text = "\n".join(body).strip()
        return text if len(text) <= FORMAT_HINT_CHARS else text[:FORMAT_HINT_CHARS].rsplit("\n", 1)[0]
    return ""


def _purpose(skill: Skill) -> str:
    """The skill's description up to its first sentence end ("Writes … copy for a page or asset …")."""
    description = " ".join(skill.description.split())
    match = re.search(r"(?<=[.;])\s", description)
    return description[: match.start()] if match else description


def build_section_request(
    skill: Skill,
    plan: SectionPlan,
    index: int,
    message: str,
    client_text: str | None,
    written: Sequence[WrittenSection],
    options: SkillOptions,
    provider: LLMProvider,
) -> LLMRequest:
    """The call that writes section ``index`` (0-based) of ``plan``."""
    heading = plan.headings[index]
    name = re.sub(r"^#{1,6}\s*", "", heading)
    system = [
        f"You are a senior marketing professional. Your job: {_purpose(skill)} "
        "You write one section of the deliverable at a time, in English, specific to the client."
    ]
    if client_text:
        system.append(f"About the client:\n{client_text.strip()}")
    brief = message.strip()
    if options.extra_instructions and options.extra_instructions.strip():
        brief += f"\n{options.extra_instructions.strip()}"
    system.append(f"The request: {brief}")
    if written:
        earlier = ", ".join(re.sub(r"^#{1,6}\s*", "", s.heading) for s in written)
        system.append(f"Sections already written: {earlier}.")
    task = f'Write the section "{name}" now, with new content.'
    hint = section_format(skill, heading)
    if hint:
        task += f" Its format:\n{hint}"
    others = tuple(f"\n{h}" for h in plan.headings if h != heading)
    return LLMRequest(
        system=(SystemPart("\n\n".join(system)),),
        messages=(Message("user", task),),
        model=choose_model(provider, run_model=options.model, skill_model=skill.metadata.model),
        max_tokens=plan.max_tokens,
        temperature=options.temperature if options.temperature is not None else SECTION_TEMPERATURE,
        prefill=f"{heading}\n\n",
        stop=others,
        repetition_penalty=SECTION_REPETITION_PENALTY,
    )


def clean_section_body(text: str, heading: str, headings: Sequence[str], *, cut_at_limit: bool) -> str:
    """The model's text for ``heading`` made to sit under it.

    A heading that names another required section ends the body (the model ran on into it); one that
    repeats this section's heading is dropped; any other heading at this section's level or above is
    demoted one level below it. With ``cut_at_limit`` (the answer hit the token limit) an unfinished last
    line is dropped.
    """
    key, level = heading_key(heading), _level(heading)
    others = {heading_key(h) for h in headings} - {key}
    kept: list[str] = []
    in_fence = False
    for line in text.replace("\r\n", "\n").split("\n"):
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _HEADING_LINE.match(line.strip())
        if match:
            line_key = heading_key(line)
            if line_key in others:
                break
            if line_key == key:
                continue
            if len(match.group(1)) <= level:
                kept.append(f"{'#' * min(6, level + 1)} {match.group(2)}")
                continue
        kept.append(line)
    body = "\n".join(kept).strip()
    if cut_at_limit and body and not _SENTENCE_END.search(body):
        head, _, _ = body.rpartition("\n")
        body = head.strip() if head.strip() else body
    return clean_output(body).strip() if body else ""


def _client_text(context_text: str) -> str:
    """The assembled client files without their ``<client_file>`` tags, which cost a small model tokens
    and get copied into its answer; their headings become plain lines for the same reason."""
    text = _CLIENT_FILE_TAG.sub("", context_text)
    return re.sub(r"^#{1,6}\s+", "", text, flags=re.MULTILINE).strip()


async def write_section(
    skill: Skill,
    plan: SectionPlan,
    index: int,
    message: str,
    client_slug: str | None,
    written: Sequence[WrittenSection],
    options: SkillOptions,
    *,
    provider: LLMProvider,
    store: ObjectStore | None = None,
) -> WrittenSection:
    """Write section ``index`` (0-based). Provider and context errors propagate, as in ``execute_skill``."""
    client_text: str | None = None
    if client_slug is not None:
        if store is None:
            raise ValueError("write_section needs a store to read the client's context")
        budget = min(PROFILE_BUDGET_TOKENS, options.context_budget_tokens)
        context = await assemble_client_context(store, client_slug, budget_tokens=budget)
        client_text = _client_text(context.text)
    request = build_section_request(skill, plan, index, message, client_text, written, options, provider)
    response = await provider.complete(request)
    heading = plan.headings[index]
    body = clean_section_body(response.text, heading, plan.headings, cut_at_limit=response.truncated)
    warnings = list(response.warnings)
    if not body:
        warnings.append(f"{heading.lstrip('# ')}: the model wrote nothing for this section")
    return WrittenSection(
        heading=heading,
        body=body,
        model=response.model,
        provider=response.provider.value,
        tokens_input=response.total_input_tokens,
        tokens_output=response.output_tokens,
        cost_usd=cost_usd(
            response.model,
            provider=response.provider,
            input_tokens=response.input_tokens,
            output_tokens=response.output_tokens,
            cache_creation_input_tokens=response.cache_creation_input_tokens,
            cache_read_input_tokens=response.cache_read_input_tokens,
        ),
        stop_reason=response.stop_reason,
        latency_seconds=response.latency_seconds,
        warnings=tuple(warnings),
    )


def join_sections(
    skill_name: str, plan: SectionPlan, written: Sequence[WrittenSection], client_slug: str | None = None
) -> SkillResult:
    """The run's result: the title, then every section under its heading; tokens, cost and time summed.

    The format check still runs (it finds nothing missing, since every heading is forced), so a change that
    broke that promise would show as a warning rather than pass unnoticed.
    """
    blocks = [f"# {plan.title}"] + [f"{s.heading}\n\n{s.body}".rstrip() for s in written]
    output = normalize_markdown("\n\n".join(blocks))
    warnings = [w for s in written for w in s.warnings]
    warnings.extend(check_format(output, required_sections=plan.headings, output_format="markdown"))
    costs = [s.cost_usd for s in written]
    first = written[0] if written else None
    return SkillResult(
        skill=skill_name,
        client_slug=client_slug,
        output=output,
        title=plan.title,
        model=first.model if first else "",
        provider=first.provider if first else "",
        tokens_input=sum(s.tokens_input for s in written),
        tokens_output=sum(s.tokens_output for s in written),
        cost_usd=None if any(c is None for c in costs) else sum(c for c in costs if c is not None),
        latency_seconds=sum(s.latency_seconds for s in written),
        stop_reason=written[-1].stop_reason if written else None,
        warnings=tuple(dict.fromkeys(warnings)),
    )
