"""Which skill a free-text request wants: the one detector behind ``POST /api/v1/detect``, ``"skillName":
"auto"`` and the Telegram bot's free text.

In order, the first that settles it wins:

1. **explicit**: the request starts with ``/skill-name`` or ``skill-name:`` naming a skill → that skill,
   confidence 1, and the prefix is taken off the request;
2. **keywords**: keyword and description scoring (``_keywords``); a confidence of at least
   :data:`CONFIDENT` (0.7) picks the best skill;
3. **model**: otherwise a small model answers with JSON constrained to the skill names (``_classifier``);
   its choice is taken when it names a skill with a confidence of at least :data:`MODEL_CONFIDENT`;
4. **none**: nothing is confident. ``skill`` is null and ``candidates`` (always the keyword ranking, the
   model's pick first when it made one) say what to offer.

The client (by name or slug among the user's clients) and the kind of output are read from the request
whatever the method.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from ._classifier import SkillClassifier
from ._extract import ClientName, OutputType, explicit_skill, match_client, output_type
from ._keywords import KeywordIndex, SkillCandidate, SkillProfile

logger = logging.getLogger(__name__)

#: Keyword confidence from which the best skill is run without asking.
CONFIDENT = 0.7
#: The model's own confidence from which its choice is taken.
MODEL_CONFIDENT = 0.5
#: How many candidates a detection lists.
MAX_CANDIDATES = 5


class DetectionMethod(StrEnum):
    EXPLICIT = "explicit"
    KEYWORDS = "keywords"
    MODEL = "model"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Detection:
    skill: str | None  # None: nothing confident; offer the candidates
    method: DetectionMethod
    confidence: float  # 0–1: of ``skill``, or of the best candidate when there is no skill
    candidates: tuple[SkillCandidate, ...]  # ranked, best first
    client_id: uuid.UUID | None
    output_type: OutputType | None
    request: str  # the request without an explicit skill prefix: what the run is asked to do

    @property
    def confident(self) -> bool:
        return self.skill is not None


class SkillDetector:
    """Detects over a set of skills; ``classifier`` None skips the model step (keywords only)."""

    def __init__(self, classifier: SkillClassifier | None = None) -> None:
        self.classifier = classifier

    async def detect(self, text: str, skills: Sequence[SkillProfile], clients: Sequence[ClientName] = ()) -> Detection:
        names = {skill.name for skill in skills}
        client_id = match_client(text, clients)
        explicit = explicit_skill(text, names)
        if explicit is not None:
            return Detection(
                skill=explicit.skill,
                method=DetectionMethod.EXPLICIT,
                confidence=1.0,
                candidates=(SkillCandidate(explicit.skill, 1.0),),
                client_id=client_id,
                output_type=output_type(explicit.request),
                request=explicit.request,
            )
        request = text.strip()
        kind = output_type(request)
        keywords = KeywordIndex(skills).score(request, MAX_CANDIDATES)
        best = keywords.best
        if best is not None and keywords.confidence >= CONFIDENT:
            return Detection(
                best.skill, DetectionMethod.KEYWORDS, keywords.confidence, keywords.candidates, client_id, kind, request
            )
        choice = None
        if self.classifier is not None:
            choice = await self.classifier.classify(request, skills, keywords.candidates)
        if choice is not None and choice.skill is not None:
            others = tuple(c for c in keywords.candidates if c.skill != choice.skill)
            ranked = (SkillCandidate(choice.skill, round(choice.confidence, 3)), *others)[:MAX_CANDIDATES]
            if choice.confidence >= MODEL_CONFIDENT:
                logger.info("skill detected by model", extra={"skill": choice.skill, "model": choice.model})
                return Detection(
                    choice.skill, DetectionMethod.MODEL, round(choice.confidence, 3), ranked, client_id, kind, request
                )
            return Detection(None, DetectionMethod.NONE, round(choice.confidence, 3), ranked, client_id, kind, request)
        return Detection(None, DetectionMethod.NONE, keywords.confidence, keywords.candidates, client_id, kind, request)

    async def aclose(self) -> None:
        if self.classifier is not None:
            await self.classifier.aclose()
