"""Object storage in a local folder: the embedded default (``file:///…``)."""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import logging
import os
import tempfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from marketing_agent.errors import InvalidStorageKey, ObjectNotFound, StorageError
from marketing_agent.storage import keys
from marketing_agent.storage._protocol import (
    DEFAULT_CONTENT_TYPE,
    STREAM_CHUNK_SIZE,
    ObjectInfo,
    check_expiry,
)

logger = logging.getLogger(__name__)

_TMP_PREFIX = ".tmp-"  # keys.validate_key refuses dot-segments, so a temp file can never be an object


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable; not every platform can open a folder, which is fine to skip."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class LocalObjectStore:
    """Objects are files under ``root``; the key is the relative path.

    Writes go to a temporary file in the target folder and are moved into place with ``os.replace``, so a
    reader sees the old or the new object, never half of one. All file I/O runs in a worker thread.
    The content type is not kept (files are served as markdown or bytes by the API).
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root).expanduser().absolute()

    def __repr__(self) -> str:
        return f"LocalObjectStore({str(self.root)!r})"

    # --- paths ------------------------------------------------------------------------------------
    def _path(self, key: str) -> Path:
        """The file of ``key`` after the key rules; pure (no I/O), so it may run on the event loop."""
        keys.validate_key(key)
        return self.root.joinpath(*key.split("/"))

    def _confine(self, key: str, path: Path) -> None:
        """Refuse a path that a symlink inside the root leads outside it (does I/O: call in a thread)."""
        if not path.resolve().is_relative_to(self.root.resolve()):
            raise InvalidStorageKey(
                f"invalid storage key {key!r}: resolves outside the storage root",
                details={"key": key, "reason": "resolves outside the storage root"},
            )

    # --- writes -----------------------------------------------------------------------------------
    async def put(self, key: str, data: bytes, *, content_type: str = DEFAULT_CONTENT_TYPE) -> None:
        path = self._path(key)
        await asyncio.to_thread(self._write, key, path, bytes(data))

    def _write(self, key: str, path: Path, data: bytes) -> None:
        self._confine(key, path)
        for attempt in range(3):
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._write_atomic(path, data)
                logger.debug("stored %s (%d bytes)", key, len(data))
                return
            except FileNotFoundError as exc:
                # A concurrent delete pruned the (empty) folder between mkdir and the write: try again.
                if attempt == 2:
                    raise StorageError(f"cannot write {key!r}: {exc.strerror or exc}") from exc
            except OSError as exc:
                raise StorageError(f"cannot write {key!r}: {exc.strerror or exc}") from exc

    @staticmethod
    def _write_atomic(path: Path, data: bytes) -> None:
        fd, tmp_name = tempfile.mkstemp(prefix=_TMP_PREFIX, dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp_name, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
            raise
        _fsync_folder(path.parent)

    async def delete(self, key: str) -> None:
        path = self._path(key)
        await asyncio.to_thread(self._delete, key, path)

    def _delete(self, key: str, path: Path) -> None:
        self._confine(key, path)
        try:
            path.unlink(missing_ok=True)
        except IsADirectoryError:
            return  # a "folder" is not an object: nothing to delete
        except OSError as exc:
            raise StorageError(f"cannot delete {key!r}: {exc.strerror or exc}") from exc
        # Prune folders left empty so listings and the tree stay tidy; a non-empty one stops the walk.
        parent = path.parent
        while parent != self.root and parent.is_relative_to(self.root):
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent

    # --- reads ------------------------------------------------------------------------------------
    async def get(self, key: str) -> bytes:
        path = self._path(key)
        return await asyncio.to_thread(self._read, key, path)

    def _read(self, key: str, path: Path) -> bytes:
        self._confine(key, path)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise ObjectNotFound(f"no object {key!r}", details={"key": key}) from exc
        except OSError as exc:
            raise StorageError(f"cannot read {key!r}: {exc.strerror or exc}") from exc

    async def exists(self, key: str) -> bool:
        path = self._path(key)
        return await asyncio.to_thread(self._is_file, key, path)

    def _is_file(self, key: str, path: Path) -> bool:
        self._confine(key, path)
        return path.is_file()

    async def list(self, prefix: str) -> builtins.list[ObjectInfo]:
        keys.validate_prefix(prefix)
        return await asyncio.to_thread(self._list, prefix)

    def _list(self, prefix: str) -> builtins.list[ObjectInfo]:
        # Walk only the deepest folder the prefix names fully, then filter by the full prefix.
        folder_parts = prefix.split("/")[:-1]
        start = self.root.joinpath(*folder_parts)
        if not start.is_dir():
            return []
        found: builtins.list[ObjectInfo] = []
        for dirpath, dirnames, filenames in os.walk(start):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for name in filenames:
                if name.startswith("."):
                    continue  # temporary files of writes in progress
                full = Path(dirpath) / name
                key = full.relative_to(self.root).as_posix()
                if not key.startswith(prefix):
                    continue
                try:
                    stat = full.stat()
                except FileNotFoundError:
                    continue  # deleted while we walked
                modified = datetime.fromtimestamp(stat.st_mtime, tz=UTC)
                found.append(ObjectInfo(key=key, size=stat.st_size, modified=modified))
        found.sort(key=lambda info: info.key)
        return found

    async def download_url(self, key: str, expires_in: int = 3600) -> str | None:
        self._path(key)  # same validation as every other call
        check_expiry(expires_in)
        return None

    def _open(self, key: str, path: Path) -> BinaryIO:
        self._confine(key, path)
        return path.open("rb")

    async def stream(self, key: str) -> AsyncIterator[bytes]:
        path = self._path(key)
        try:
            handle = await asyncio.to_thread(self._open, key, path)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise ObjectNotFound(f"no object {key!r}", details={"key": key}) from exc
        except OSError as exc:
            raise StorageError(f"cannot read {key!r}: {exc.strerror or exc}") from exc
        try:
            while chunk := await asyncio.to_thread(handle.read, STREAM_CHUNK_SIZE):
                yield chunk
        finally:
            await asyncio.to_thread(handle.close)
