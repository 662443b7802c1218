"""Skill detection: from a free-text request to the skill (and client, and kind of output) it wants.

``SkillDetector.detect`` runs the explicit prefix, keyword scoring and the model step in that order
(see ``_detector``). It works on plain records (``SkillProfile``, ``ClientName``) so the API, the bot and
the catalogue can all feed it.
"""

from ._classifier import (
    OFFLINE_SHORTLIST,
    LLMSkillClassifier,
    ModelChoice,
    SkillClassifier,
    answer_schema,
    cheapest_model,
    classifier_model,
    offered_skills,
)
from ._detector import CONFIDENT, MAX_CANDIDATES, MODEL_CONFIDENT, Detection, DetectionMethod, SkillDetector
from ._extract import ClientName, ExplicitSkill, OutputType, explicit_skill, match_client, output_type
from ._keywords import KeywordIndex, KeywordResult, SkillCandidate, SkillProfile

__all__ = [
    "CONFIDENT",
    "MAX_CANDIDATES",
    "MODEL_CONFIDENT",
    "OFFLINE_SHORTLIST",
    "ClientName",
    "Detection",
    "DetectionMethod",
    "ExplicitSkill",
    "KeywordIndex",
    "KeywordResult",
    "LLMSkillClassifier",
    "ModelChoice",
    "OutputType",
    "SkillCandidate",
    "SkillClassifier",
    "SkillDetector",
    "SkillProfile",
    "answer_schema",
    "cheapest_model",
    "classifier_model",
    "explicit_skill",
    "match_client",
    "offered_skills",
    "output_type",
]
