"""Loading workflow definitions from their three sources into one catalog.

Sources, in order; a later one replaces an earlier workflow of the same name:

1. the built-ins shipped in ``marketing_agent/workflows/builtin/*.yaml``;
2. ``WORKFLOWS_DIR`` (``Settings.workflows_dir``), ``<name>.yaml`` / ``<name>.yml`` files;
3. object storage, ``workflows/<name>.yaml`` (or ``.yml``).

A file's name must be the workflow's ``name``. An invalid definition never stops the others: it is logged
and kept in :attr:`WorkflowCatalog.errors` with its file and reason, and an earlier valid workflow of the
same name stays in place.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Protocol

import yaml

from marketing_agent.errors import WorkflowInvalid, WorkflowNotFound
from marketing_agent.workflows.definition import WorkflowDefinition, parse_definition

logger = logging.getLogger(__name__)

STORAGE_PREFIX = "workflows/"
SUFFIXES = (".yaml", ".yml")
MAX_FILE_BYTES = 256 * 1024


class _StoredObject(Protocol):
    @property
    def key(self) -> str: ...


class WorkflowStore(Protocol):
    """The two calls of ``marketing_agent.storage.ObjectStore`` the loader needs."""

    async def list(self, prefix: str, /) -> Sequence[_StoredObject]: ...

    async def get(self, key: str, /) -> bytes: ...


@dataclass(frozen=True, slots=True)
class WorkflowLoadError:
    path: str
    reason: str


@dataclass
class WorkflowCatalog:
    workflows: dict[str, WorkflowDefinition] = field(default_factory=dict)
    errors: list[WorkflowLoadError] = field(default_factory=list)

    def require(self, name: str) -> WorkflowDefinition:
        found = self.workflows.get(name)
        if found is None:
            raise WorkflowNotFound(f"workflow {name!r} not found")
        return found

    def all(self) -> list[WorkflowDefinition]:
        return [self.workflows[name] for name in sorted(self.workflows)]


def parse_workflow_text(text: str, origin: str, known_skills: Collection[str]) -> WorkflowDefinition:
    """One YAML file's text → a validated definition; the file's stem must equal the workflow's name."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise WorkflowInvalid(f"{origin}: not valid YAML: {' '.join(str(exc).split())}") from exc
    definition = parse_definition(raw, origin, known_skills)
    stem = origin.rsplit("/", 1)[-1]
    for suffix in SUFFIXES:
        stem = stem.removesuffix(suffix)
    if stem != definition.name:
        raise WorkflowInvalid(f"{origin}: name {definition.name!r} must match the file name ({stem!r})")
    return definition


def _load_tree(
    root: Traversable, origin: str, known: Collection[str]
) -> tuple[list[WorkflowDefinition], list[WorkflowLoadError]]:
    found: list[WorkflowDefinition] = []
    errors: list[WorkflowLoadError] = []
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if not entry.is_file() or not entry.name.endswith(SUFFIXES) or entry.name.startswith((".", "_")):
            continue
        where = f"{origin}/{entry.name}"
        try:
            data = entry.read_bytes()
            if len(data) > MAX_FILE_BYTES:
                raise WorkflowInvalid(f"{where}: larger than {MAX_FILE_BYTES} bytes")
            found.append(parse_workflow_text(data.decode("utf-8"), where, known))
        except WorkflowInvalid as exc:
            errors.append(WorkflowLoadError(where, exc.message))
        except (OSError, UnicodeDecodeError) as exc:
            errors.append(WorkflowLoadError(where, f"cannot read: {exc}"))
    return found, errors


def _load_directory(
    workflows_dir: Path, known: Collection[str]
) -> tuple[list[WorkflowDefinition], list[WorkflowLoadError]]:
    if not workflows_dir.is_dir():
        return [], [WorkflowLoadError(str(workflows_dir), "WORKFLOWS_DIR is not an existing directory")]
    return _load_tree(workflows_dir, str(workflows_dir), known)


def builtin_workflows_dir() -> Path:
    return Path(str(resources.files("marketing_agent.workflows").joinpath("builtin")))


async def _load_storage(
    store: WorkflowStore, known: Collection[str]
) -> tuple[list[WorkflowDefinition], list[WorkflowLoadError]]:
    found: list[WorkflowDefinition] = []
    errors: list[WorkflowLoadError] = []
    for info in sorted(await store.list(STORAGE_PREFIX), key=lambda i: i.key):
        relative = info.key[len(STORAGE_PREFIX) :]
        if "/" in relative or not relative.endswith(SUFFIXES):
            continue
        try:
            data = await store.get(info.key)
            if len(data) > MAX_FILE_BYTES:
                raise WorkflowInvalid(f"{info.key}: larger than {MAX_FILE_BYTES} bytes")
            found.append(parse_workflow_text(data.decode("utf-8"), info.key, known))
        except WorkflowInvalid as exc:
            errors.append(WorkflowLoadError(info.key, exc.message))
        except Exception as exc:  # one unreadable object must not hide the others
            errors.append(WorkflowLoadError(info.key, f"cannot read from storage: {type(exc).__name__}: {exc}"))
    return found, errors


async def load_workflow_catalog(
    known_skills: Collection[str], workflows_dir: Path | None = None, store: WorkflowStore | None = None
) -> WorkflowCatalog:
    """Built-ins, then ``workflows_dir``, then ``store``'s ``workflows/``; later sources override by name."""
    known = frozenset(known_skills)
    builtin = resources.files("marketing_agent.workflows").joinpath("builtin")
    sources = [await asyncio.to_thread(_load_tree, builtin, "builtin", known)]
    if workflows_dir is not None:
        sources.append(await asyncio.to_thread(_load_directory, workflows_dir, known))
    if store is not None:
        try:
            sources.append(await _load_storage(store, known))
        except Exception as exc:  # storage down: serve the other sources, say why
            sources.append(([], [WorkflowLoadError(STORAGE_PREFIX, f"cannot list storage: {exc}")]))
    catalog = WorkflowCatalog()
    for definitions, errors in sources:
        for definition in definitions:
            catalog.workflows[definition.name] = definition
        for error in errors:
            logger.warning("workflow not loaded: %s: %s", error.path, error.reason)
        catalog.errors.extend(errors)
    return catalog


__all__ = [
    "STORAGE_PREFIX",
    "WorkflowCatalog",
    "WorkflowLoadError",
    "WorkflowStore",
    "builtin_workflows_dir",
    "load_workflow_catalog",
    "parse_workflow_text",
]
