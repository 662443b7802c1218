"""Keyword and description scoring: which skills a request's words point at, and how clearly.

Each skill contributes *phrases* (its trigger keywords and its name, "seo-audit" → "seo audit") and its
description's words. A word's weight is its inverse document frequency over the catalogue, so words every
skill uses ("content", "page", "user") count little and words only one skill uses ("drip", "schema") a lot.

- a phrase found whole in the request scores the sum of its words' weights, and more per extra word
  ("press release" is stronger evidence than "press" and "release" apart); its words close together in
  another order or with a word between ("email onboarding sequence") score :data:`_LOOSE_SHARE` of that;
- each word of the skill's name found alone adds half its weight;
- each description word shared with the request adds a quarter of its weight.

A skill's raw score becomes a 0–1 *score* with ``1 - exp(-raw / SCALE)``. The *confidence* of the best
skill also looks at the runner-up: it is the best score times ``(1 + margin) / 2``, where the margin is
how far the best raw score is ahead of the second (1 when alone, 0 on a tie). So one clear, specific
phrase is confident, one generic word is not, and two skills pulling equally halve it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from ._text import phrase_in, phrase_near, terms

#: Raw score at which a lone skill's score reaches 1 - 1/e (0.63); tuned on the labelled requests.
SCALE = 4.0
_EXTRA_WORD_BONUS = 0.5
_NAME_WORD_SHARE = 0.5
_DESCRIPTION_SHARE = 0.25
_LOOSE_SHARE = 0.6


@dataclass(frozen=True, slots=True)
class SkillProfile:
    """What detection needs to know about one skill (from the catalogue or the skills table)."""

    name: str
    description: str
    trigger_keywords: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SkillCandidate:
    """A skill that may be meant, with its 0–1 score."""

    skill: str
    score: float


@dataclass(frozen=True, slots=True)
class KeywordResult:
    candidates: tuple[SkillCandidate, ...]  # best first, only skills that scored
    confidence: float  # of the first candidate; 0 when there is none

    @property
    def best(self) -> SkillCandidate | None:
        return self.candidates[0] if self.candidates else None


@dataclass(frozen=True, slots=True)
class _IndexedSkill:
    name: str
    phrases: tuple[tuple[tuple[str, ...], float], ...]  # (terms, weight)
    name_terms: frozenset[str]
    description_terms: frozenset[str]


class KeywordIndex:
    """The catalogue prepared for scoring; build once per set of skills, then score many requests."""

    def __init__(self, skills: Iterable[SkillProfile]) -> None:
        profiles = sorted({s.name: s for s in skills}.values(), key=lambda s: s.name)
        self.names: tuple[str, ...] = tuple(p.name for p in profiles)
        prepared = [_prepare_terms(p) for p in profiles]
        frequency: dict[str, int] = {}
        for phrases, name_terms, description_terms in prepared:
            for term in {t for phrase in phrases for t in phrase} | name_terms | description_terms:
                frequency[term] = frequency.get(term, 0) + 1
        count = max(len(profiles), 1)
        self._idf = {term: math.log(1 + count / df) for term, df in frequency.items()}
        self._skills = tuple(
            _IndexedSkill(
                name=profile.name,
                phrases=tuple((phrase, self._phrase_weight(phrase)) for phrase in phrases),
                name_terms=name_terms,
                description_terms=description_terms,
            )
            for profile, (phrases, name_terms, description_terms) in zip(profiles, prepared, strict=True)
        )

    def _phrase_weight(self, phrase: tuple[str, ...]) -> float:
        return sum(self._idf.get(t, 0.0) for t in phrase) * (1 + _EXTRA_WORD_BONUS * (len(phrase) - 1))

    def raw_scores(self, text: str) -> dict[str, float]:
        """Every skill's raw score for the text (skills with nothing in common are left out)."""
        text_terms = tuple(terms(text))
        present = set(text_terms)
        scores: dict[str, float] = {}
        for skill in self._skills:
            score = sum(_phrase_score(phrase, weight, text_terms) for phrase, weight in skill.phrases)
            score += _NAME_WORD_SHARE * sum(self._idf[t] for t in skill.name_terms & present)
            score += _DESCRIPTION_SHARE * sum(self._idf[t] for t in skill.description_terms & present)
            if score > 0:
                scores[skill.name] = score
        return scores

    def score(self, text: str, limit: int | None = None) -> KeywordResult:
        """The skills the text points at, best first (ties by name), and the confidence in the first."""
        raw = sorted(self.raw_scores(text).items(), key=lambda item: (-item[1], item[0]))
        if not raw:
            return KeywordResult((), 0.0)
        candidates = tuple(SkillCandidate(name, round(to_score(value), 3)) for name, value in raw[:limit])
        best = raw[0][1]
        second = raw[1][1] if len(raw) > 1 else 0.0
        margin = (best - second) / best
        return KeywordResult(candidates, round(to_score(best) * (1 + margin) / 2, 3))


def _phrase_score(phrase: tuple[str, ...], weight: float, text_terms: tuple[str, ...]) -> float:
    if phrase_in(phrase, text_terms) >= 0:
        return weight
    return _LOOSE_SHARE * weight if phrase_near(phrase, text_terms) else 0.0


def to_score(raw: float) -> float:
    return 1 - math.exp(-raw / SCALE)


def _prepare_terms(
    profile: SkillProfile,
) -> tuple[tuple[tuple[str, ...], ...], frozenset[str], frozenset[str]]:
    name_text = profile.name.replace("-", " ")
    seen: dict[tuple[str, ...], None] = {}
    for phrase in (*profile.trigger_keywords, name_text):
        phrase_terms = tuple(terms(phrase))
        if phrase_terms:
            seen.setdefault(phrase_terms, None)
    return tuple(seen), frozenset(terms(name_text)), frozenset(terms(profile.description))
