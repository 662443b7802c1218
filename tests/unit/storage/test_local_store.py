"""What only the local-folder store does (the shared contract is in tests/integration/storage)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from marketing_agent.errors import InvalidStorageKey, StorageError
from marketing_agent.storage import LocalObjectStore


async def test_writes_land_as_files_under_the_root(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    await store.put("clients/acme/brand/voice.md", b"calm")
    assert (tmp_path / "clients" / "acme" / "brand" / "voice.md").read_bytes() == b"calm"


async def test_no_temporary_files_are_left_behind(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    for n in range(5):
        await store.put("a/b.md", str(n).encode())
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["b.md"]


async def test_a_failed_write_keeps_the_old_object_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalObjectStore(tmp_path)
    await store.put("a/b.md", b"old")

    def disk_full(src: str, dst: str) -> None:  # fault injection: the final rename fails
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(StorageError, match="No space left"):
        await store.put("a/b.md", b"new")
    monkeypatch.undo()
    assert await store.get("a/b.md") == b"old"
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["b.md"]


async def test_temp_files_of_writes_in_progress_are_not_listed(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    await store.put("a/b.md", b"x")
    (tmp_path / "a" / ".tmp-abc123").write_bytes(b"partial")
    assert [i.key for i in await store.list("")] == ["a/b.md"]


async def test_delete_prunes_empty_folders_but_not_the_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    store = LocalObjectStore(root)
    await store.put("a/b/c/d.md", b"x")
    await store.delete("a/b/c/d.md")
    assert root.is_dir()
    assert list(root.iterdir()) == []


async def test_a_symlink_out_of_the_root_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.md").write_bytes(b"secret")
    root = tmp_path / "root"
    root.mkdir()
    (root / "link").symlink_to(outside)
    store = LocalObjectStore(root)
    with pytest.raises(InvalidStorageKey, match="outside the storage root"):
        await store.get("link/secret.md")
    with pytest.raises(InvalidStorageKey):
        await store.put("link/new.md", b"x")
    assert not (outside / "new.md").exists()


async def test_a_missing_root_lists_nothing(tmp_path: Path) -> None:
    assert await LocalObjectStore(tmp_path / "not-yet").list("") == []


async def test_a_key_under_an_existing_object_is_a_storage_error(tmp_path: Path) -> None:
    # S3 allows "a.md" and "a.md/b.md" side by side; a file system cannot, so this is the local limit.
    store = LocalObjectStore(tmp_path)
    await store.put("a.md", b"x")
    with pytest.raises(StorageError):
        await store.put("a.md/b.md", b"y")
