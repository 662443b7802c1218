"""``python -m bench.small_model``: every built-in skill once in small-model mode on the offline model.

Per skill: whether every required section is present (the format check finds nothing missing), the share
of repeated 5-gram lines, the tokens read and written, and the seconds the section calls took. The table
it prints is the one in docs/llm.md ("Small-model mode: measured").

A **repeated 5-gram line** is a body line (not a heading, at least five words) one of whose word 5-grams
already appeared earlier in the output: the copy-and-loop failure of small models, counted per line so a
long repeated paragraph weighs as much as it reads.

Runs are sequential, through the same ``write_section`` / ``join_sections`` the durable steps call, for one
fixed client and brief, at small-model mode's own temperature (``--temperature 0`` for greedy decoding, which
a 135M model turns into loops), so two passes differ a little.
``--section-tokens N`` (a run's ``maxTokens`` of N per section) keeps the whole pass short on a small
machine; ``--show`` prints each output too.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from dataclasses import dataclass

from marketing_agent.agent.cleaning import check_format
from marketing_agent.agent.execute import SkillOptions
from marketing_agent.agent.llm import LocalProvider
from marketing_agent.agent.sectioned import SectionPlan, WrittenSection, join_sections, plan_sections, write_section
from marketing_agent.agent.skill import SkillSource
from marketing_agent.agent.skills import load_skill_catalog
from marketing_agent.storage import MemoryObjectStore

CLIENT = "acme-coffee"
PROFILE = (
    "# Acme Coffee\n\nSpecialty coffee roaster in Lisbon; sells beans online by subscription to home baristas. "
    "Plans from 12 EUR a month, roasted to order, shipped within 48 hours across the EU. Competes with "
    "supermarket beans and with larger subscription roasters.\n"
)
BRIEF = "Work for Acme Coffee's bean subscription for home baristas, launching a new espresso blend in March."
_WORD = re.compile(r"[\w'’-]+")
_HEADING = re.compile(r"^\s*#{1,6}\s")


def repeated_5gram_line_share(text: str, n: int = 5) -> float:
    """The share of body lines (≥ ``n`` words, not headings) that repeat a word ``n``-gram seen before."""
    seen: set[tuple[str, ...]] = set()
    lines = repeated = 0
    for line in text.splitlines():
        if _HEADING.match(line):
            continue
        words = [w.lower() for w in _WORD.findall(line)]
        if len(words) < n:
            continue
        grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
        lines += 1
        hit = False
        for gram in grams:
            if gram in seen:
                hit = True
            seen.add(gram)
        repeated += hit
    return repeated / lines if lines else 0.0


@dataclass(frozen=True, slots=True)
class Row:
    skill: str
    sections: int
    present: bool
    empty_sections: int
    repeated: float
    tokens_in: int
    tokens_out: int
    seconds: float


async def measure(
    skill_names: list[str] | None, section_tokens: int | None, temperature: float | None, show: bool
) -> list[Row]:
    catalog = await load_skill_catalog(None, None)
    store = MemoryObjectStore()
    await store.put(f"clients/{CLIENT}/profile.md", PROFILE.encode())
    provider = LocalProvider.from_installed()
    rows: list[Row] = []
    names = skill_names or sorted(s.name for s in catalog.skills.values() if s.source is SkillSource.BUILTIN)
    for name in names:
        skill = catalog.require(name)
        count = len(skill.metadata.required_sections)
        max_tokens = section_tokens * count if section_tokens and count else None
        options = SkillOptions(max_tokens=max_tokens, temperature=temperature)
        plan: SectionPlan | None = plan_sections(skill, BRIEF, options)
        if plan is None:
            print(f"{name}: no required sections; not run in small-model mode", file=sys.stderr)
            continue
        written: list[WrittenSection] = []
        started = time.perf_counter()
        for index in range(len(plan.headings)):
            section = await write_section(
                skill, plan, index, BRIEF, CLIENT, written, options, provider=provider, store=store
            )
            written.append(section)
        seconds = time.perf_counter() - started
        result = join_sections(skill.name, plan, written, CLIENT)
        missing = check_format(result.output, required_sections=skill.metadata.required_sections)
        row = Row(
            skill=name,
            sections=len(plan.headings),
            present=not missing,
            empty_sections=sum(1 for s in written if not s.body),
            repeated=repeated_5gram_line_share(result.output),
            tokens_in=result.tokens_input,
            tokens_out=result.tokens_output,
            seconds=seconds,
        )
        rows.append(row)
        print(
            f"{name}: {row.sections} sections, present={row.present}, repeated={row.repeated:.0%}, "
            f"{row.tokens_in}+{row.tokens_out} tokens, {row.seconds:.1f}s",
            file=sys.stderr,
        )
        if show:
            print(result.output, file=sys.stderr)
    return rows


def table(rows: list[Row]) -> str:
    lines = [
        "| skill | sections | all present | empty sections | repeated 5-gram lines | tokens in | tokens out "
        "| seconds |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.skill} | {r.sections} | {'yes' if r.present else 'NO'} | {r.empty_sections} | "
            f"{r.repeated:.0%} | {r.tokens_in:,} | {r.tokens_out:,} | {r.seconds:.1f} |"
        )
    if rows:
        n = len(rows)
        lines.append(
            f"| **all {n}** | {sum(r.sections for r in rows)} | {sum(r.present for r in rows)}/{n} | "
            f"{sum(r.empty_sections for r in rows)} | {sum(r.repeated for r in rows) / n:.0%} (mean) | "
            f"{sum(r.tokens_in for r in rows):,} | {sum(r.tokens_out for r in rows):,} | "
            f"{sum(r.seconds for r in rows):.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.small_model", description=__doc__.split("\n")[0])
    parser.add_argument("--skills", help="comma-separated skill names (default: every built-in skill)")
    parser.add_argument("--section-tokens", type=int, default=None, help="most tokens per section")
    parser.add_argument("--temperature", type=float, default=None, help="sampling temperature (default: the mode's)")
    parser.add_argument("--show", action="store_true", help="print each output (to stderr)")
    args = parser.parse_args(argv)
    names = [s.strip() for s in args.skills.split(",") if s.strip()] if args.skills else None
    rows = asyncio.run(measure(names, args.section_tokens, args.temperature, args.show))
    print(table(rows))
    return 0 if all(r.present for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
