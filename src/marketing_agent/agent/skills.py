"""Loading, validating and cataloguing skills (Agent Skills format).

A skill is a folder named after the skill holding ``SKILL.md`` (YAML front matter + markdown instructions),
an optional ``RULES.md`` (hard rules) and optional ``references/**.md``. Skills come from three sources,
loaded in this order; a later source replaces an earlier skill of the same name:

1. the built-in folders shipped in the ``marketing_agent.skills`` package;
2. ``SKILLS_DIR`` (``Settings.skills_dir``), one sub-folder per skill;
3. object storage, ``skills/<name>/SKILL.md`` and friends.

An invalid skill never stops the others from loading: it is logged and kept in ``SkillCatalog.errors`` with
its file and the reason, and an earlier valid skill of the same name stays in place.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import yaml

from marketing_agent.agent.skill import Skill, SkillCategory, SkillMetadata, SkillSource, ToolName
from marketing_agent.errors import SkillInvalid, SkillNotFound

if TYPE_CHECKING:
    from marketing_agent.storage import ObjectStore

__all__ = [
    "MAX_DESCRIPTION_CHARS",
    "MAX_FILE_BYTES",
    "MAX_NAME_CHARS",
    "STORAGE_PREFIX",
    "SkillCatalog",
    "SkillLoadError",
    "SkillStore",
    "builtin_skills_dir",
    "load_skill_catalog",
    "load_skill_folder",
    "parse_skill_files",
    "validate_skill_name",
]

logger = logging.getLogger(__name__)

MAX_NAME_CHARS = 64
MAX_DESCRIPTION_CHARS = 1024
# Same as ``storage.keys.SKILLS_ROOT`` (a test keeps them equal); not imported so that loading skills does not
# pull in the S3 client.
STORAGE_PREFIX = "skills/"
# Every file of a skill ends up in an LLM prompt; anything this large is a mistake, not a skill.
MAX_FILE_BYTES = 256 * 1024

SKILL_FILE = "SKILL.md"
RULES_FILE = "RULES.md"
REFERENCES_DIR = "references"
_MAX_REFERENCE_DEPTH = 4

_NAME_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# Front matter: a first line of exactly '---', YAML, then a closing '---' line.
_FRONT_MATTER_RE = re.compile(r"\A---[ \t]*\r?\n(?P<yaml>.*?)(?:\r?\n)?^---[ \t]*(?:\r?\n|\Z)", re.S | re.M)
_METADATA_STR_FIELDS = ("type", "model", "output_format")
_METADATA_LIST_FIELDS = ("trigger_keywords", "related_skills", "required_sections")


class _StoredObject(Protocol):
    @property
    def key(self) -> str: ...


class SkillStore(Protocol):
    """The two calls of ``marketing_agent.storage.ObjectStore`` the loader needs.

    Any ``ObjectStore`` (local folder, S3, in-memory) fits; so does a two-method fake in a test.
    """

    async def list(self, prefix: str, /) -> Sequence[_StoredObject]: ...

    async def get(self, key: str, /) -> bytes: ...


@dataclass(frozen=True, slots=True)
class SkillLoadError:
    """A skill that could not be loaded: the file (or folder, or storage key) and why."""

    path: str
    reason: str


# --- validation ------------------------------------------------------------------------------------
def validate_skill_name(name: str) -> str | None:
    """The reason ``name`` is not a valid skill name, or None when it is."""
    if not 1 <= len(name) <= MAX_NAME_CHARS:
        return f"name must be 1-{MAX_NAME_CHARS} characters, got {len(name)}"
    if not _NAME_RE.fullmatch(name):
        return (
            f"name {name!r} must use lowercase letters, digits and single hyphens, without a leading or trailing hyphen"
        )
    return None


def _split_front_matter(text: str, where: str) -> tuple[dict[str, Any], str]:
    match = _FRONT_MATTER_RE.match(text.lstrip("\ufeff"))
    if match is None:
        raise _invalid(where, "no YAML front matter (the file must start with a '---' line and close it)")
    try:
        data = yaml.safe_load(match.group("yaml"))
    except yaml.YAMLError as exc:
        raise _invalid(where, f"front matter is not valid YAML: {_one_line(exc)}") from exc
    if not isinstance(data, dict):
        raise _invalid(where, "front matter must be a YAML mapping")
    return data, text.lstrip("\ufeff")[match.end() :]


def _parse_metadata(raw: object, where: str) -> SkillMetadata:
    if raw is None:
        return SkillMetadata()
    if not isinstance(raw, dict):
        raise _invalid(where, "metadata must be a mapping")
    values: dict[str, Any] = {}
    for key in _METADATA_STR_FIELDS:
        if raw.get(key) is not None:
            if not isinstance(raw[key], str) or not raw[key].strip():
                raise _invalid(where, f"metadata.{key} must be a non-empty string")
            values[key] = raw[key].strip()
    if raw.get("max_tokens") is not None:
        tokens = raw["max_tokens"]
        if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens <= 0:
            raise _invalid(where, "metadata.max_tokens must be a positive integer")
        values["max_tokens"] = tokens
    if raw.get("temperature") is not None:
        temperature = raw["temperature"]
        if isinstance(temperature, bool) or not isinstance(temperature, int | float):
            raise _invalid(where, "metadata.temperature must be a number")
        if not 0 <= temperature <= 2:
            raise _invalid(where, "metadata.temperature must be between 0 and 2")
        values["temperature"] = float(temperature)
    if raw.get("category") is not None:
        values["category"] = _parse_category(raw["category"], where)
    for key in _METADATA_LIST_FIELDS:
        items = raw.get(key)
        if items is None:
            continue
        if not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
            raise _invalid(where, f"metadata.{key} must be a list of non-empty strings")
        values[key] = tuple(i.strip() for i in items)
    for related in values.get("related_skills", ()):
        if (reason := validate_skill_name(related)) is not None:
            raise _invalid(where, f"metadata.related_skills: {reason}")
    values.update(_parse_loop_limits(raw, where))
    unknown = sorted(
        set(raw)
        - {*_METADATA_STR_FIELDS, *_METADATA_LIST_FIELDS, *_LOOP_LIMITS, "category", "max_tokens", "temperature"}
    )
    if unknown:
        # The Agent Skills format lets metadata carry anything; we only use what we know.
        logger.debug("skill %s: ignoring unknown metadata keys %s", where, unknown)
    return SkillMetadata(**values)


_LOOP_LIMITS = {"max_turns": 50, "max_tool_calls": 100}  # field: the most a skill may ask for


def _parse_loop_limits(raw: dict[str, Any], where: str) -> dict[str, int]:
    values: dict[str, int] = {}
    for key, most in _LOOP_LIMITS.items():
        value = raw.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
            raise _invalid(where, f"metadata.{key} must be an integer from 1 to {most}")
        values[key] = value
    return values


def _parse_allowed_tools(raw: object, where: str) -> tuple[ToolName, ...]:
    """``allowed-tools``: space-separated names (the Agent Skills spec); a YAML list is taken too."""
    if raw is None:
        return ()
    if isinstance(raw, str):
        names = raw.split()
    elif isinstance(raw, list) and all(isinstance(n, str) for n in raw):
        names = [n.strip() for n in raw]
    else:
        raise _invalid(where, "allowed-tools must be a space-separated string of tool names")
    known = {t.value for t in ToolName}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise _invalid(where, f"allowed-tools: unknown tool {unknown[0]!r}; known tools: {', '.join(sorted(known))}")
    return tuple(dict.fromkeys(ToolName(n) for n in names))


def _parse_category(value: object, where: str) -> SkillCategory:
    allowed = ", ".join(c.value for c in SkillCategory)
    if not isinstance(value, str):
        raise _invalid(where, f"metadata.category must be one of {allowed}")
    try:
        return SkillCategory(value.strip())
    except ValueError:
        raise _invalid(where, f"metadata.category {value!r} is not one of {allowed}") from None


def parse_skill_files(folder_name: str, files: Mapping[str, str], source: SkillSource, origin: str) -> Skill:
    """Build a :class:`Skill` from its files' texts, keyed by path relative to the skill folder.

    ``origin`` names the folder (a path or a storage prefix) in error messages. Raises
    :class:`SkillInvalid` with the file and the reason.
    """
    where = f"{origin.rstrip('/')}/{SKILL_FILE}"
    if SKILL_FILE not in files:
        raise _invalid(origin, f"missing {SKILL_FILE}")
    front, body = _split_front_matter(files[SKILL_FILE], where)

    name = front.get("name")
    if not isinstance(name, str):
        raise _invalid(where, "front matter needs a 'name' string")
    if (reason := validate_skill_name(name)) is not None:
        raise _invalid(where, reason)
    if name != folder_name:
        raise _invalid(where, f"name {name!r} must equal the folder name {folder_name!r}")

    description = front.get("description")
    if not isinstance(description, str) or not description.strip():
        raise _invalid(where, "front matter needs a non-empty 'description' string")
    description = description.strip()
    if len(description) > MAX_DESCRIPTION_CHARS:
        raise _invalid(where, f"description is {len(description)} characters, at most {MAX_DESCRIPTION_CHARS} allowed")

    metadata = _parse_metadata(front.get("metadata"), where)
    allowed_tools = _parse_allowed_tools(front.get("allowed-tools"), where)
    instructions = body.strip()
    if not instructions:
        raise _invalid(where, "the instructions (the markdown after the front matter) are empty")

    rules = files.get(RULES_FILE)
    references = tuple(
        (path, text.strip())
        for path, text in sorted(files.items())
        if path.startswith(f"{REFERENCES_DIR}/") and path.endswith(".md")
    )
    return Skill(
        name=name,
        description=description,
        instructions=instructions,
        source=source,
        metadata=metadata,
        rules=rules.strip() if rules is not None and rules.strip() else None,
        references=references,
        allowed_tools=allowed_tools,
    )


# --- reading folders -------------------------------------------------------------------------------
def _decode(data: bytes, where: str) -> str:
    if len(data) > MAX_FILE_BYTES:
        raise _invalid(where, f"file is {len(data)} bytes, at most {MAX_FILE_BYTES} allowed")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _invalid(where, "file is not valid UTF-8") from exc


def _read_folder(folder: Traversable, origin: str) -> dict[str, str]:
    """The texts a skill uses (SKILL.md, RULES.md, references/**.md) keyed by relative posix path."""
    files: dict[str, str] = {}
    for file_name in (SKILL_FILE, RULES_FILE):
        entry = folder / file_name
        if entry.is_file():
            files[file_name] = _decode(entry.read_bytes(), f"{origin}/{file_name}")
    references = folder / REFERENCES_DIR
    if references.is_dir():
        pending: list[tuple[Traversable, str, int]] = [(references, REFERENCES_DIR, 1)]
        while pending:
            directory, prefix, depth = pending.pop()
            for entry in directory.iterdir():
                relative = f"{prefix}/{entry.name}"
                if entry.name.startswith("."):
                    continue
                if entry.is_dir():
                    # A bound, so that a symlink pointing back up cannot loop forever.
                    if depth < _MAX_REFERENCE_DEPTH:
                        pending.append((entry, relative, depth + 1))
                elif entry.name.endswith(".md"):
                    files[relative] = _decode(entry.read_bytes(), f"{origin}/{relative}")
    return files


def load_skill_folder(path: Path, source: SkillSource) -> Skill:
    """Load one skill folder from disk; raises :class:`SkillInvalid` with the file and reason."""
    if not path.is_dir():
        raise _invalid(str(path), "not a directory")
    return parse_skill_files(path.name, _read_folder(path, str(path)), source, str(path))


def _skill_folders(root: Traversable) -> list[Traversable]:
    # Python's own package files (__init__.py, __pycache__) and hidden folders are not skills.
    return sorted(
        (e for e in root.iterdir() if e.is_dir() and not e.name.startswith(("_", "."))),
        key=lambda e: e.name,
    )


def _load_tree(root: Traversable, origin: str, source: SkillSource) -> tuple[list[Skill], list[SkillLoadError]]:
    skills: list[Skill] = []
    errors: list[SkillLoadError] = []
    for folder in _skill_folders(root):
        where = f"{origin}/{folder.name}"
        try:
            skills.append(parse_skill_files(folder.name, _read_folder(folder, where), source, where))
        except SkillInvalid as exc:
            errors.append(_error_of(exc, where))
        except OSError as exc:
            errors.append(SkillLoadError(where, f"cannot read: {exc}"))
    return skills, errors


def builtin_skills_dir() -> Path:
    """The folder holding the built-in skills (package data of ``marketing_agent.skills``)."""
    return Path(str(resources.files("marketing_agent.skills")))


def _load_builtin() -> tuple[list[Skill], list[SkillLoadError]]:
    root = resources.files("marketing_agent.skills")
    return _load_tree(root, str(root), SkillSource.BUILTIN)


def _load_directory(skills_dir: Path) -> tuple[list[Skill], list[SkillLoadError]]:
    if not skills_dir.is_dir():
        return [], [SkillLoadError(str(skills_dir), "SKILLS_DIR is not an existing directory")]
    return _load_tree(skills_dir, str(skills_dir), SkillSource.DIRECTORY)


async def _load_storage(store: ObjectStore | SkillStore) -> tuple[list[Skill], list[SkillLoadError]]:
    """Skills stored as ``skills/<name>/SKILL.md`` (+ ``RULES.md``, ``references/…``)."""
    by_folder: dict[str, list[str]] = {}
    for info in await store.list(STORAGE_PREFIX):
        relative = info.key[len(STORAGE_PREFIX) :] if info.key.startswith(STORAGE_PREFIX) else ""
        folder, _, rest = relative.partition("/")
        if folder and rest and not folder.startswith((".", "_")):
            by_folder.setdefault(folder, []).append(rest)
    skills: list[Skill] = []
    errors: list[SkillLoadError] = []
    for folder, paths in sorted(by_folder.items()):
        origin = f"{STORAGE_PREFIX}{folder}"
        wanted = [
            p
            for p in paths
            if p in (SKILL_FILE, RULES_FILE) or (p.startswith(f"{REFERENCES_DIR}/") and p.endswith(".md"))
        ]
        try:
            files = {p: _decode(await store.get(f"{origin}/{p}"), f"{origin}/{p}") for p in sorted(wanted)}
            skills.append(parse_skill_files(folder, files, SkillSource.STORAGE, origin))
        except SkillInvalid as exc:
            errors.append(_error_of(exc, origin))
        except Exception as exc:  # a storage failure for one skill must not hide the others
            errors.append(SkillLoadError(origin, f"cannot read from storage: {type(exc).__name__}: {exc}"))
    return skills, errors


# --- the catalog -----------------------------------------------------------------------------------
@dataclass(slots=True)
class SkillCatalog:
    """Every loaded skill by name, plus the skills that failed to load and why."""

    skills: dict[str, Skill] = field(default_factory=dict)
    errors: list[SkillLoadError] = field(default_factory=list)

    def get(self, name: str) -> Skill | None:
        return self.skills.get(name)

    def require(self, name: str) -> Skill:
        """The skill, or :class:`SkillNotFound` naming the skills that do exist."""
        skill = self.skills.get(name)
        if skill is None:
            raise SkillNotFound(
                f"no skill named {name!r}; available: {', '.join(self.names()) or 'none'}",
                details={"skill": name},
            )
        return skill

    def all(self) -> list[Skill]:
        return [self.skills[name] for name in self.names()]

    def names(self) -> list[str]:
        return sorted(self.skills)

    def __contains__(self, name: object) -> bool:
        return name in self.skills

    def __len__(self) -> int:
        return len(self.skills)

    def add(self, skills: Iterable[Skill]) -> None:
        """Add skills; one with the name of a skill already here replaces it (later sources win)."""
        for skill in skills:
            previous = self.skills.get(skill.name)
            if previous is not None:
                logger.info("skill %s from %s overrides the one from %s", skill.name, skill.source, previous.source)
            self.skills[skill.name] = skill

    def suggest(self, text: str, limit: int = 3) -> list[Skill]:
        """The skills most likely meant by free text, best first; empty when nothing matches.

        The skill detector's keyword ranking (``agent.detect``), so the catalogue, the API and the bot
        agree on what a request points at.
        """
        from marketing_agent.agent.detect import KeywordIndex, SkillProfile

        if limit <= 0:
            return []
        index = KeywordIndex(
            SkillProfile(s.name, s.description, s.metadata.trigger_keywords) for s in self.skills.values()
        )
        return [self.skills[c.skill] for c in index.score(text, limit).candidates]


async def load_skill_catalog(
    skills_dir: Path | None = None, store: ObjectStore | SkillStore | None = None
) -> SkillCatalog:
    """Load built-ins, then ``skills_dir``, then ``store``'s ``skills/``; later sources override by name."""
    catalog = SkillCatalog()
    sources: list[tuple[list[Skill], list[SkillLoadError]]] = [await asyncio.to_thread(_load_builtin)]
    if skills_dir is not None:
        sources.append(await asyncio.to_thread(_load_directory, skills_dir))
    if store is not None:
        try:
            sources.append(await _load_storage(store))
        except Exception as exc:  # storage down: serve the other sources, say why
            sources.append(([], [SkillLoadError(STORAGE_PREFIX, f"cannot list storage: {type(exc).__name__}: {exc}")]))
    for skills, errors in sources:
        catalog.add(skills)
        for error in errors:
            logger.warning("skill not loaded: %s: %s", error.path, error.reason)
        catalog.errors.extend(errors)
    logger.info("loaded %d skills (%d invalid)", len(catalog), len(catalog.errors))
    return catalog


# --- helpers ---------------------------------------------------------------------------------------
def _invalid(path: str, reason: str) -> SkillInvalid:
    return SkillInvalid(f"{path}: {reason}", details={"path": path, "reason": reason})


def _error_of(exc: SkillInvalid, fallback_path: str) -> SkillLoadError:
    details = exc.details if isinstance(exc.details, dict) else {}
    return SkillLoadError(str(details.get("path", fallback_path)), str(details.get("reason", exc.message)))


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())
