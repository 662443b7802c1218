"""The loaded form of a skill (Agent Skills format: a folder with SKILL.md, optional RULES.md, references/).

This is the contract between the skill loader (``agent.skills``), the executor (``agent.execute``), the
services and the API. Loading and validation live in ``agent.skills``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class SkillSource(StrEnum):
    BUILTIN = "builtin"
    DIRECTORY = "directory"  # SKILLS_DIR
    STORAGE = "storage"  # skills/<name>/ in object storage


@dataclass(frozen=True, slots=True)
class SkillMetadata:
    """Optional ``metadata`` from SKILL.md's front matter."""

    type: str = "general"  # e.g. copy, strategy, research, seo, content
    model: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    output_format: str | None = None  # the exact output format, checked by the executor
    trigger_keywords: tuple[str, ...] = ()
    related_skills: tuple[str, ...] = ()
    required_sections: tuple[str, ...] = ()  # markdown headings the output must contain


@dataclass(frozen=True, slots=True)
class Skill:
    name: str
    description: str
    instructions: str  # SKILL.md body (after the front matter)
    source: SkillSource
    metadata: SkillMetadata = field(default_factory=SkillMetadata)
    rules: str | None = None  # RULES.md
    references: tuple[tuple[str, str], ...] = ()  # (relative path, text) of files under references/

    @property
    def has_rules(self) -> bool:
        return self.rules is not None

    @property
    def has_subdirectories(self) -> bool:
        return bool(self.references)
