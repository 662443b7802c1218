"""The object-store contract every implementation honours (local folder, S3, in-memory)."""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

DEFAULT_CONTENT_TYPE = "text/markdown; charset=utf-8"
"""Most objects are markdown (outputs, skills, client files), so that is the default."""

STREAM_CHUNK_SIZE = 64 * 1024


def check_expiry(expires_in: int) -> None:
    """``download_url``'s argument rule, shared so every store refuses the same values."""
    if isinstance(expires_in, bool) or not isinstance(expires_in, int) or expires_in < 1:
        raise ValueError(f"expires_in must be a positive number of seconds, got {expires_in!r}")


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """One stored object as :meth:`ObjectStore.list` reports it."""

    key: str
    size: int
    modified: datetime
    """Last modification, timezone-aware (UTC)."""


@runtime_checkable
class ObjectStore(Protocol):
    """Keys are relative, ``/``-separated paths (see :mod:`marketing_agent.storage.keys`).

    Every method validates its key first and raises
    :class:`~marketing_agent.errors.InvalidStorageKey` for one that is absolute, contains ``..``, ``.``,
    backslashes or empty segments. Other failures of the backend raise
    :class:`~marketing_agent.errors.StorageError` (retryable).
    """

    async def put(self, key: str, data: bytes, *, content_type: str = DEFAULT_CONTENT_TYPE) -> None:
        """Store ``data`` under ``key``, replacing any previous object atomically."""
        ...

    async def get(self, key: str) -> bytes:
        """The object's bytes; :class:`~marketing_agent.errors.ObjectNotFound` when missing."""
        ...

    async def exists(self, key: str) -> bool: ...

    async def list(self, prefix: str) -> builtins.list[ObjectInfo]:
        """Objects whose key starts with ``prefix`` (``""`` for all), sorted by key."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the object; deleting a missing key is not an error."""
        ...

    async def download_url(self, key: str, expires_in: int = 3600) -> str | None:
        """A presigned URL valid ``expires_in`` seconds, or None when the store has no URLs of its own
        (the local folder): the caller then serves the bytes itself (:meth:`stream`)."""
        ...

    def stream(self, key: str) -> AsyncIterator[bytes]:
        """The object's bytes in chunks; a missing key raises ObjectNotFound at the first iteration."""
        ...
