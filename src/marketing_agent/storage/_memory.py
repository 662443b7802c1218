"""An in-memory object store for unit tests of code that needs storage (it honours the same contract)."""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

from marketing_agent.errors import ObjectNotFound
from marketing_agent.storage import keys
from marketing_agent.storage._protocol import (
    DEFAULT_CONTENT_TYPE,
    STREAM_CHUNK_SIZE,
    ObjectInfo,
    check_expiry,
)


@dataclass(frozen=True, slots=True)
class _Stored:
    data: bytes
    content_type: str
    modified: datetime


class MemoryObjectStore:
    """Keeps objects in a dict; nothing survives the process. Not for production."""

    def __init__(self) -> None:
        self._objects: dict[str, _Stored] = {}

    async def put(self, key: str, data: bytes, *, content_type: str = DEFAULT_CONTENT_TYPE) -> None:
        keys.validate_key(key)
        self._objects[key] = _Stored(bytes(data), content_type, datetime.now(UTC))

    async def get(self, key: str) -> bytes:
        keys.validate_key(key)
        try:
            return self._objects[key].data
        except KeyError:
            raise ObjectNotFound(f"no object {key!r}", details={"key": key}) from None

    async def exists(self, key: str) -> bool:
        return keys.validate_key(key) in self._objects

    async def list(self, prefix: str) -> builtins.list[ObjectInfo]:
        keys.validate_prefix(prefix)
        return [
            ObjectInfo(key=key, size=len(stored.data), modified=stored.modified)
            for key, stored in sorted(self._objects.items())
            if key.startswith(prefix)
        ]

    async def delete(self, key: str) -> None:
        self._objects.pop(keys.validate_key(key), None)

    async def download_url(self, key: str, expires_in: int = 3600) -> str | None:
        keys.validate_key(key)
        check_expiry(expires_in)
        return None

    def content_type(self, key: str) -> str:
        """The content type given at ``put`` (for tests that check it)."""
        return self._objects[keys.validate_key(key)].content_type

    async def stream(self, key: str) -> AsyncIterator[bytes]:
        data = await self.get(key)
        for start in range(0, len(data), STREAM_CHUNK_SIZE):
            yield data[start : start + STREAM_CHUNK_SIZE]
