"""What only the S3 store does: prefixes inside a bucket, path-style URLs, backend errors."""

from __future__ import annotations

import pytest

from marketing_agent.errors import ConfigError, StorageError
from marketing_agent.settings import Settings
from marketing_agent.storage import S3ObjectStore, open_object_store
from support.net import free_port
from support.s3 import S3Endpoint


def _store(endpoint: S3Endpoint, bucket: str, prefix: str = "") -> S3ObjectStore:
    return S3ObjectStore(
        bucket,
        prefix,
        endpoint_url=endpoint.url,
        region=endpoint.region,
        access_key_id=endpoint.access_key_id,
        secret_access_key=endpoint.secret_access_key,
    )


async def test_prefixes_keep_stores_in_one_bucket_apart(moto_endpoint: S3Endpoint, s3_bucket: str) -> None:
    first, second = _store(moto_endpoint, s3_bucket, "/one/"), _store(moto_endpoint, s3_bucket, "two")
    await first.put("a.md", b"1")
    await second.put("a.md", b"2")
    assert await first.get("a.md") == b"1"
    assert [i.key for i in await second.list("")] == ["a.md"]
    client = moto_endpoint.client()
    listed = client.list_objects_v2(Bucket=s3_bucket)
    assert sorted(item["Key"] for item in listed["Contents"]) == ["one/a.md", "two/a.md"]
    head = client.head_object(Bucket=s3_bucket, Key="one/a.md")
    assert head["ContentType"] == "text/markdown; charset=utf-8"
    client.close()
    first.close()
    second.close()


async def test_download_url_is_path_style(moto_endpoint: S3Endpoint, s3_bucket: str) -> None:
    store = _store(moto_endpoint, s3_bucket, "p")
    url = await store.download_url("x/y.md")
    assert url is not None
    assert url.startswith(f"{moto_endpoint.url}/{s3_bucket}/p/x/y.md?")
    store.close()


async def test_a_missing_bucket_is_a_storage_error(moto_endpoint: S3Endpoint) -> None:
    store = _store(moto_endpoint, "no-such-bucket-here")
    with pytest.raises(StorageError) as info:
        await store.put("a.md", b"x")
    assert "NoSuchBucket" in info.value.message
    assert info.value.retryable is True
    store.close()


async def test_an_unreachable_endpoint_is_a_retryable_storage_error() -> None:
    store = S3ObjectStore(
        "bucket", endpoint_url=f"http://127.0.0.1:{free_port()}", access_key_id="k", secret_access_key="s"
    )
    with pytest.raises(StorageError) as info:
        await store.get("a.md")
    assert info.value.retryable is True
    store.close()


async def test_open_object_store_builds_an_s3_store_from_settings(moto_endpoint: S3Endpoint, s3_bucket: str) -> None:
    settings = Settings(
        storage_url=f"s3://{s3_bucket}/tenant",
        s3_endpoint_url=moto_endpoint.url,
        s3_region=moto_endpoint.region,
        aws_access_key_id=moto_endpoint.access_key_id,
        aws_secret_access_key=moto_endpoint.secret_access_key,
    )
    store = open_object_store(settings)
    assert isinstance(store, S3ObjectStore)
    assert (store.bucket, store.prefix) == (s3_bucket, "tenant/")
    await store.put("k.md", b"v")
    assert await store.get("k.md") == b"v"
    assert "testing" not in repr(store)
    store.close()


def test_an_s3_url_with_a_bad_prefix_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="STORAGE_URL"):
        open_object_store(Settings(storage_url="s3://bucket/a/../b"))
