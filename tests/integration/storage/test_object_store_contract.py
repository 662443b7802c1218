"""One contract, every store: the local folder, S3 through a real moto server process, and in-memory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from marketing_agent.errors import InvalidStorageKey, ObjectNotFound
from marketing_agent.storage import (
    LocalObjectStore,
    MemoryObjectStore,
    ObjectInfo,
    ObjectStore,
    S3ObjectStore,
)
from support.s3 import S3Endpoint

INVALID_KEYS = [
    "",
    "/etc/passwd",
    "../escape.md",
    "a/../../escape.md",
    "a/./b.md",
    "a//b.md",
    "a/b/",
    "a\\b.md",
    "C:/windows.md",
    "a/.hidden.md",
    "bad\x00name.md",
    "x" * 1025,
]


@pytest.fixture(params=["local", "s3", "memory"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ObjectStore]:
    if request.param == "local":
        yield LocalObjectStore(tmp_path / "storage")
    elif request.param == "memory":
        yield MemoryObjectStore()
    else:
        endpoint: S3Endpoint = request.getfixturevalue("moto_endpoint")
        bucket: str = request.getfixturevalue("s3_bucket")
        s3 = S3ObjectStore(
            bucket,
            "tenant/data",
            endpoint_url=endpoint.url,
            region=endpoint.region,
            access_key_id=endpoint.access_key_id,
            secret_access_key=endpoint.secret_access_key,
        )
        yield s3
        s3.close()


async def _collect(chunks: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in chunks])


class TestObjectStoreContract:
    async def test_satisfies_the_protocol(self, store: ObjectStore) -> None:
        assert isinstance(store, ObjectStore)

    async def test_put_then_get_returns_the_same_bytes(self, store: ObjectStore) -> None:
        await store.put("clients/acme/profile.md", b"# Acme\n\nWe sell anvils.\n")
        assert await store.get("clients/acme/profile.md") == b"# Acme\n\nWe sell anvils.\n"

    async def test_get_of_a_missing_key_raises_object_not_found(self, store: ObjectStore) -> None:
        with pytest.raises(ObjectNotFound) as info:
            await store.get("clients/acme/nothing.md")
        assert "clients/acme/nothing.md" in info.value.message
        assert info.value.retryable is False

    async def test_exists(self, store: ObjectStore) -> None:
        assert await store.exists("a/b.md") is False
        await store.put("a/b.md", b"x")
        assert await store.exists("a/b.md") is True
        # A "folder" is not an object.
        assert await store.exists("a") is False

    async def test_put_overwrites_the_previous_object(self, store: ObjectStore) -> None:
        await store.put("outputs/x.md", b"first version, longer than the second")
        await store.put("outputs/x.md", b"second")
        assert await store.get("outputs/x.md") == b"second"
        [info] = await store.list("outputs/")
        assert info.size == len(b"second")

    async def test_unicode_content_and_keys_round_trip(self, store: ObjectStore) -> None:
        text = "# Café ☕\n\nÜber naïve résumé — 日本語 — emoji 🚀\n"
        key = "clients/café-ünicode/профиль.md"
        await store.put(key, text.encode("utf-8"))
        assert (await store.get(key)).decode("utf-8") == text
        assert [info.key for info in await store.list("clients/")] == [key]

    async def test_binary_content_round_trips(self, store: ObjectStore) -> None:
        data = bytes(range(256)) * 1024  # every byte value, 256 KiB: more than one stream chunk
        await store.put("blobs/all-bytes.bin", data, content_type="application/octet-stream")
        assert await store.get("blobs/all-bytes.bin") == data
        assert await _collect(store.stream("blobs/all-bytes.bin")) == data

    async def test_empty_object(self, store: ObjectStore) -> None:
        await store.put("empty.md", b"")
        assert await store.get("empty.md") == b""
        assert await store.exists("empty.md")
        assert await _collect(store.stream("empty.md")) == b""

    async def test_list_by_prefix_is_sorted_and_filtered(self, store: ObjectStore) -> None:
        for key in [
            "clients/b/z.md",
            "clients/a/profile.md",
            "clients/a/brand/voice.md",
            "skills/s/SKILL.md",
        ]:
            await store.put(key, key.encode())
        assert [i.key for i in await store.list("clients/a/")] == [
            "clients/a/brand/voice.md",
            "clients/a/profile.md",
        ]
        assert [i.key for i in await store.list("clients/")] == [
            "clients/a/brand/voice.md",
            "clients/a/profile.md",
            "clients/b/z.md",
        ]
        assert len(await store.list("")) == 4
        assert await store.list("nothing/") == []
        # A prefix need not end at a folder boundary.
        assert [i.key for i in await store.list("clients/a/pro")] == ["clients/a/profile.md"]

    async def test_list_reports_size_and_an_aware_modification_time(self, store: ObjectStore) -> None:
        before = datetime.now(UTC) - timedelta(minutes=5)
        await store.put("a/one.md", b"12345")
        [info] = await store.list("a/")
        assert info == ObjectInfo(key="a/one.md", size=5, modified=info.modified)
        assert info.modified.tzinfo is not None
        assert before <= info.modified <= datetime.now(UTC) + timedelta(minutes=5)

    async def test_delete_removes_and_missing_is_fine(self, store: ObjectStore) -> None:
        await store.put("a/b/c.md", b"x")
        await store.put("a/keep.md", b"y")
        await store.delete("a/b/c.md")
        assert await store.exists("a/b/c.md") is False
        assert [i.key for i in await store.list("")] == ["a/keep.md"]
        await store.delete("a/b/c.md")  # again: no error
        await store.delete("never/was.md")
        with pytest.raises(ObjectNotFound):
            await store.get("a/b/c.md")

    async def test_stream_returns_the_bytes_in_chunks(self, store: ObjectStore) -> None:
        data = b"0123456789" * 20_000  # 200 kB
        await store.put("big.md", data)
        chunks = [chunk async for chunk in store.stream("big.md")]
        assert b"".join(chunks) == data
        assert len(chunks) >= 2
        assert all(chunks)

    async def test_stream_of_a_missing_key_raises_object_not_found(self, store: ObjectStore) -> None:
        with pytest.raises(ObjectNotFound):
            await _collect(store.stream("missing.md"))

    async def test_download_url_serves_the_bytes_or_is_none(self, store: ObjectStore) -> None:
        data = "# Output\n\nDéjà vu.\n".encode()
        await store.put("outputs/copywriting/_none/2026-01-02-run.md", data)
        url = await store.download_url("outputs/copywriting/_none/2026-01-02-run.md", expires_in=120)
        if isinstance(store, S3ObjectStore):
            assert url is not None
            assert "X-Amz-Signature" in url
            async with httpx.AsyncClient() as http:
                response = await http.get(url)
            assert response.status_code == 200
            assert response.content == data
            assert response.headers["content-type"] == "text/markdown; charset=utf-8"
        else:
            assert url is None  # the API serves the bytes itself through stream()

    @pytest.mark.parametrize("expires_in", [0, -5])
    async def test_download_url_refuses_a_non_positive_expiry(self, store: ObjectStore, expires_in: int) -> None:
        await store.put("a.md", b"x")
        with pytest.raises(ValueError, match="expires_in"):
            await store.download_url("a.md", expires_in=expires_in)

    async def test_concurrent_writes_to_one_key_leave_one_whole_object(self, store: ObjectStore) -> None:
        versions = [bytes([n]) * 50_000 for n in range(8)]
        await asyncio.gather(*(store.put("race.md", v) for v in versions))
        assert await store.get("race.md") in versions
        assert [i.key for i in await store.list("")] == ["race.md"]

    @pytest.mark.parametrize("key", INVALID_KEYS)
    async def test_invalid_keys_are_refused_by_every_method(self, store: ObjectStore, key: str) -> None:
        calls: list[Callable[[], Awaitable[object]]] = [
            lambda: store.put(key, b"x"),
            lambda: store.get(key),
            lambda: store.exists(key),
            lambda: store.delete(key),
            lambda: store.download_url(key),
            lambda: _collect(store.stream(key)),
        ]
        for call in calls:
            with pytest.raises(InvalidStorageKey) as info:
                await call()
            assert info.value.retryable is False
            assert info.value.message.startswith("invalid storage key")
            assert info.value.details["key"] == key

    @pytest.mark.parametrize("prefix", ["/abs", "../up", "a//b", "a\\b"])
    async def test_invalid_list_prefixes_are_refused(self, store: ObjectStore, prefix: str) -> None:
        with pytest.raises(InvalidStorageKey):
            await store.list(prefix)
