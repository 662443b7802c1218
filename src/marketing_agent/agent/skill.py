"""The loaded form of a skill (Agent Skills format: a folder with SKILL.md, optional RULES.md, references/).

This is the contract between the skill loader (``agent.skills``), the executor (``agent.execute``), the
services and the API. Loading and validation live in ``agent.skills``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ToolName(StrEnum):
    """The tools a skill may list in ``allowed-tools`` (all read-only; see docs/agent-loop.md)."""

    WEB_FETCH = "web_fetch"
    WEB_SEARCH = "web_search"
    READ_CLIENT_FILE = "read_client_file"
    LIST_CLIENT_FILES = "list_client_files"


class SkillSource(StrEnum):
    BUILTIN = "builtin"
    DIRECTORY = "directory"  # SKILLS_DIR
    STORAGE = "storage"  # skills/<name>/ in object storage


class SkillCategory(StrEnum):
    """Where a skill sits when browsing the catalogue (``metadata.category``); a closed set."""

    COPYWRITING = "copywriting"
    CRO = "cro"
    EMAIL = "email"
    SEO = "seo"
    STRATEGY = "strategy"
    RESEARCH = "research"
    ADS = "ads"
    SOCIAL = "social"

    @property
    def label(self) -> str:
        """How people write the category's name (the bot's buttons, the docs' catalogue)."""
        return _CATEGORY_LABELS[self]


_CATEGORY_LABELS = {
    SkillCategory.COPYWRITING: "Copywriting",
    SkillCategory.CRO: "CRO",
    SkillCategory.EMAIL: "Email",
    SkillCategory.SEO: "SEO",
    SkillCategory.STRATEGY: "Strategy",
    SkillCategory.RESEARCH: "Research",
    SkillCategory.ADS: "Ads",
    SkillCategory.SOCIAL: "Social",
}


@dataclass(frozen=True, slots=True)
class SkillMetadata:
    """Optional ``metadata`` from SKILL.md's front matter."""

    type: str = "general"  # e.g. copy, strategy, research, seo, content
    # None for a skill (from SKILLS_DIR or storage) written without one; every built-in has one
    category: SkillCategory | None = None
    model: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    output_format: str | None = None  # the exact output format, checked by the executor
    trigger_keywords: tuple[str, ...] = ()
    related_skills: tuple[str, ...] = ()
    # markdown heading lines the output must contain, in order, written with their level: "## Timeline"
    required_sections: tuple[str, ...] = ()
    # the agent loop's limits; None: the defaults of ``agent.loop`` (1 turn without tools, 10 with)
    max_turns: int | None = None
    max_tool_calls: int | None = None


@dataclass(frozen=True, slots=True)
class Skill:
    name: str
    description: str
    instructions: str  # SKILL.md body (after the front matter)
    source: SkillSource
    metadata: SkillMetadata = field(default_factory=SkillMetadata)
    rules: str | None = None  # RULES.md
    # (path relative to the skill folder, text) of each references/**.md file, sorted by path:
    # ("references/checklist.md", "# SEO audit checklist …")
    references: tuple[tuple[str, str], ...] = ()
    # ``allowed-tools`` of the front matter (space-separated in the Agent Skills spec)
    allowed_tools: tuple[ToolName, ...] = ()

    @property
    def has_rules(self) -> bool:
        return self.rules is not None

    @property
    def has_subdirectories(self) -> bool:
        return bool(self.references)
