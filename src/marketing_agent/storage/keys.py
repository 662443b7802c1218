"""The storage key layout, in one place.

::

    skills/<name>/SKILL.md, skills/<name>/RULES.md, skills/<name>/references/…
    clients/<slug>/profile.md, clients/<slug>/brand/voice.md, …
    outputs/<skill>/<client-slug or _none>/<YYYY-MM-DD>-<run id>.md

Output keys contain the run id, so two runs never write the same key; a retried step of one run rewrites
its own key with the same content, which keeps the save-output step idempotent.

:func:`validate_key` is the one rule every store applies before touching its backend.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime

from marketing_agent.errors import InvalidStorageKey

SKILLS_ROOT = "skills/"
CLIENTS_ROOT = "clients/"
OUTPUTS_ROOT = "outputs/"
NO_CLIENT = "_none"
"""The client segment of an output key for a run without a client (a slug can never start with ``_``)."""

MAX_KEY_BYTES = 1024  # S3's limit; the local store applies it too so both refuse the same keys
_SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_SLUG_MAX = 64
_RUN_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


def _refuse(key: str, reason: str) -> InvalidStorageKey:
    return InvalidStorageKey(f"invalid storage key {key!r}: {reason}", details={"key": key, "reason": reason})


def _check_segments(key: str, segments: list[str]) -> None:
    for segment in segments:
        if segment == "":
            raise _refuse(key, "empty path segment (leading, trailing or doubled '/')")
        if segment in {".", ".."}:
            raise _refuse(key, f"'{segment}' segments are not allowed")
        if segment.startswith("."):
            # Hidden names are reserved: the local store writes its temporary files as dot-files.
            raise _refuse(key, "segments may not start with '.'")


def validate_key(key: str) -> str:
    """Return ``key`` unchanged when it is a safe relative object key, else raise InvalidStorageKey."""
    if not isinstance(key, str) or key == "":
        raise _refuse(str(key), "empty key")
    if "\\" in key:
        raise _refuse(key, "backslashes are not allowed")
    if key.startswith("/"):
        raise _refuse(key, "absolute keys are not allowed")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in key):
        raise _refuse(key, "control characters are not allowed")
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise _refuse(key, f"longer than {MAX_KEY_BYTES} bytes")
    if re.match(r"^[A-Za-z]:", key):
        raise _refuse(key, "drive-letter paths are not allowed")
    _check_segments(key, key.split("/"))
    return key


def validate_prefix(prefix: str) -> str:
    """Like :func:`validate_key` but ``""`` (everything) and a trailing ``/`` are allowed."""
    if prefix == "":
        return prefix
    validate_key(prefix.removesuffix("/"))
    return prefix


def _slug(value: str, what: str) -> str:
    if not isinstance(value, str) or len(value) > _SLUG_MAX or not _SLUG.match(value):
        raise _refuse(str(value), f"{what} must be 1-{_SLUG_MAX} lowercase letters, digits and single hyphens")
    return value


def _relative_md(relative_path: str) -> str:
    if relative_path.startswith("/"):
        raise _refuse(relative_path, "absolute paths are not allowed")
    validate_key(relative_path)
    if not relative_path.lower().endswith(".md") or relative_path.rsplit("/", 1)[-1].lower() == ".md":
        raise _refuse(relative_path, "only markdown files (.md) are allowed")
    return relative_path


# --- skills ---------------------------------------------------------------------------------------
def skill_prefix(name: str) -> str:
    """``skills/<name>/``"""
    return f"{SKILLS_ROOT}{_slug(name, 'a skill name')}/"


def skill_file_key(name: str, relative_path: str) -> str:
    """``skills/<name>/<relative_path>`` (``SKILL.md``, ``references/x.md``…)."""
    return validate_key(skill_prefix(name) + relative_path)


# --- clients --------------------------------------------------------------------------------------
def client_prefix(slug: str) -> str:
    """``clients/<slug>/``"""
    return f"{CLIENTS_ROOT}{_slug(slug, 'a client slug')}/"


def client_file_key(slug: str, relative_path: str) -> str:
    """``clients/<slug>/<relative_path>`` for a markdown path such as ``profile.md`` or ``brand/voice.md``."""
    return client_prefix(slug) + _relative_md(relative_path)


def client_relative_path(slug: str, key: str) -> str:
    """The inverse of :func:`client_file_key`: ``clients/acme/brand/voice.md`` → ``brand/voice.md``."""
    prefix = client_prefix(slug)
    if not key.startswith(prefix) or key == prefix:
        raise _refuse(key, f"not a file under {prefix}")
    return key[len(prefix) :]


# --- outputs --------------------------------------------------------------------------------------
def output_key(
    skill: str, client_slug: str | None, day: date, run_id: uuid.UUID | str, *, output_type: str | None = None
) -> str:
    """``outputs/<skill>/<client-slug or _none>/<YYYY-MM-DD>[-<output type>]-<run id>.md``, unique per run
    (the run's ``outputType`` option, when given, names the file)."""
    client = NO_CLIENT if client_slug is None else _slug(client_slug, "a client slug")
    run = str(run_id)
    if not _RUN_ID.match(run):
        raise _refuse(run, "a run id must be letters, digits, '-' or '_'")
    if isinstance(day, datetime):  # a datetime is a date too; only its calendar day belongs in the key
        day = day.date()
    kind = "" if output_type is None else f"-{_slug(output_type, 'an output type')}"
    return f"{OUTPUTS_ROOT}{_slug(skill, 'a skill name')}/{client}/{day.isoformat()}{kind}-{run}.md"


def output_prefix(skill: str | None = None, client_slug: str | None = None) -> str:
    """``outputs/``, ``outputs/<skill>/`` or ``outputs/<skill>/<client or _none>/`` for listing."""
    if skill is None:
        return OUTPUTS_ROOT
    prefix = f"{OUTPUTS_ROOT}{_slug(skill, 'a skill name')}/"
    if client_slug is not None:
        prefix += f"{_slug(client_slug, 'a client slug')}/"
    return prefix


__all__ = [
    "CLIENTS_ROOT",
    "MAX_KEY_BYTES",
    "NO_CLIENT",
    "OUTPUTS_ROOT",
    "SKILLS_ROOT",
    "client_file_key",
    "client_prefix",
    "client_relative_path",
    "output_key",
    "output_prefix",
    "skill_file_key",
    "skill_prefix",
    "validate_key",
    "validate_prefix",
]
