"""Measuring skill detection on the labelled requests in ``tests/data/skill_requests.yaml``.

Used by ``tests/unit/detect/test_accuracy.py`` and, for the numbers in ``docs/skills.md``, run as
``PYTHONPATH=tests uv run --no-sync python -m support.detect_eval [--holdout] [--offline-model]``.

Scoring, per labelled request (only requests whose labelled skill is in the catalogue count, and ``also``
keeps only skills in the catalogue):
- a request labelled with a skill is right when the answer is that skill or one in its ``also`` list;
- a request labelled null is right when nothing is chosen, or a skill from its ``also`` list.
"Keywords alone" answers the best keyword candidate, but only when its confidence reaches the threshold
for requests labelled null (anything weaker would not run); for the others it answers the best candidate
whatever its confidence, which is top-1 accuracy of the ranking. "Full detector" is ``SkillDetector``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from marketing_agent.agent.detect import (
    CONFIDENT,
    Detection,
    DetectionMethod,
    KeywordIndex,
    LLMSkillClassifier,
    SkillDetector,
    SkillProfile,
)
from marketing_agent.agent.llm import LLMRequest, LLMResponse, LocalProvider
from marketing_agent.agent.skills import load_skill_catalog
from marketing_agent.settings import LLMProviderName

DATA = Path(__file__).resolve().parents[1] / "data" / "skill_requests.yaml"
#: Written after the catalogue landed and never tuned against (see its header).
HOLDOUT = DATA.with_name("skill_requests_holdout.yaml")


@dataclass(frozen=True, slots=True)
class Labelled:
    text: str
    skill: str | None
    also: frozenset[str]

    def accepts(self, answer: str | None) -> bool:
        return answer == self.skill or answer in self.also


def load_requests(names: Sequence[str], path: Path = DATA) -> list[Labelled]:
    """The labelled requests whose skill is in ``names`` (or null), ``also`` cut to ``names``."""
    present = set(names)
    items: list[Labelled] = []
    for raw in yaml.safe_load(path.read_text(encoding="utf-8")):
        skill = raw["skill"]
        if skill is not None and skill not in present:
            continue
        items.append(Labelled(raw["text"], skill, frozenset(raw.get("also", ())) & present))
    return items


async def builtin_profiles() -> list[SkillProfile]:
    catalog = await load_skill_catalog()
    return [SkillProfile(s.name, s.description, s.metadata.trigger_keywords) for s in catalog.all()]


class OracleProvider:
    """The fake provider for the model step: it answers each request with its labelled skill, as a
    perfect classifier would, in the JSON the schema asks for. With it the full detector's accuracy is the
    ceiling the routing allows: its only errors are requests the keywords settled wrongly."""

    def __init__(self, requests: Sequence[Labelled]) -> None:
        self._labels = {item.text: item.skill for item in requests}
        self.calls = 0

    @property
    def name(self) -> LLMProviderName:
        return LLMProviderName.ANTHROPIC

    @property
    def default_model(self) -> str:
        return "oracle"

    async def complete(self, request: LLMRequest) -> LLMResponse:
        self.calls += 1
        assert request.json_schema is not None
        skill = self._labels.get(request.messages[-1].content)
        text = json.dumps({"skill": skill, "confidence": 0.9})
        return LLMResponse(text, request.model, self.name, input_tokens=0, output_tokens=0)

    async def aclose(self) -> None:
        pass


@dataclass(frozen=True, slots=True)
class Report:
    total: int
    keywords_right: int
    detector_right: int
    keywords_confident: int  # requests the keywords settled (confidence ≥ CONFIDENT)
    keywords_confident_right: int
    by_method: dict[str, int]
    misses: list[tuple[str, str | None, str | None]]  # (text, label, detector answer)

    @property
    def keywords_top1(self) -> float:
        return self.keywords_right / self.total

    @property
    def detector_top1(self) -> float:
        return self.detector_right / self.total


def keyword_answer(index: KeywordIndex, item: Labelled) -> str | None:
    result = index.score(item.text, 1)
    if result.best is None:
        return None
    if item.skill is None and result.confidence < CONFIDENT:
        return None
    return result.best.skill


async def evaluate(requests: Sequence[Labelled], profiles: Sequence[SkillProfile], detector: SkillDetector) -> Report:
    index = KeywordIndex(profiles)
    keywords_right = detector_right = confident = confident_right = 0
    by_method: dict[str, int] = {}
    misses: list[tuple[str, str | None, str | None]] = []
    for item in requests:
        keywords_right += item.accepts(keyword_answer(index, item))
        scored = index.score(item.text, 1)
        if scored.best is not None and scored.confidence >= CONFIDENT:
            confident += 1
            confident_right += item.accepts(scored.best.skill)
        detection: Detection = await detector.detect(item.text, profiles)
        by_method[detection.method.value] = by_method.get(detection.method.value, 0) + 1
        if item.accepts(detection.skill):
            detector_right += 1
        else:
            misses.append((item.text, item.skill, detection.skill))
    return Report(len(requests), keywords_right, detector_right, confident, confident_right, by_method, misses)


def _print(title: str, report: Report) -> None:
    methods = ", ".join(f"{m} {report.by_method.get(m.value, 0)}" for m in DetectionMethod)
    print(f"## {title}")
    print(f"requests: {report.total}")
    print(f"keywords alone, top-1: {report.keywords_right}/{report.total} = {report.keywords_top1:.1%}")
    print(
        f"keywords confident (>= {CONFIDENT}): {report.keywords_confident}, of which right "
        f"{report.keywords_confident_right}"
    )
    print(f"full detector, top-1: {report.detector_right}/{report.total} = {report.detector_top1:.1%}")
    print(f"methods: {methods}")
    for text, label, answer in report.misses:
        print(f"  miss: {text!r}: expected {label}, got {answer}")


async def main(offline_model: bool, holdout: bool) -> None:
    profiles = await builtin_profiles()
    requests = load_requests([p.name for p in profiles], HOLDOUT if holdout else DATA)
    print(f"# {(HOLDOUT if holdout else DATA).name}")
    _print(f"{len(profiles)} skills, no model step", await evaluate(requests, profiles, SkillDetector()))
    oracle = OracleProvider(requests)
    detector = SkillDetector(LLMSkillClassifier(lambda: oracle, lambda provider: provider.default_model))
    _print("model step: the oracle fake provider", await evaluate(requests, profiles, detector))
    if offline_model:
        local = SkillDetector(LLMSkillClassifier(LocalProvider.from_installed, lambda provider: provider.default_model))
        _print("model step: the offline model (SmolLM2-135M, grammar)", await evaluate(requests, profiles, local))
        await local.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offline-model", action="store_true", help="also measure with the offline model")
    parser.add_argument("--holdout", action="store_true", help="measure on the held-out set")
    args = parser.parse_args()
    asyncio.run(main(args.offline_model, args.holdout))
