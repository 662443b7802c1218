"""Object storage in S3 or any S3-compatible server (MinIO, Ceph, moto…)."""

from __future__ import annotations

import asyncio
import builtins
import logging
from collections.abc import AsyncIterator
from datetime import UTC
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from marketing_agent.errors import ObjectNotFound, StorageError
from marketing_agent.storage import keys
from marketing_agent.storage._protocol import (
    DEFAULT_CONTENT_TYPE,
    STREAM_CHUNK_SIZE,
    ObjectInfo,
    check_expiry,
)

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

logger = logging.getLogger(__name__)

_NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound"})


def _normalize_prefix(prefix: str) -> str:
    prefix = prefix.strip("/")
    if prefix:
        keys.validate_key(prefix)
        return prefix + "/"
    return ""


class S3ObjectStore:
    """Objects live in ``bucket`` under ``prefix``; store keys are relative to the prefix.

    boto3 is synchronous, so each call runs in a worker thread (one client, which boto3 documents as
    thread-safe). Path-style addressing (``endpoint/bucket/key``) works with S3-compatible servers that
    have no per-bucket DNS names, and with AWS itself. botocore's own retries stay on for transient errors:
    storage calls are cheap and idempotent, unlike LLM calls whose retries the engine owns.
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
    ) -> None:
        if not bucket:
            raise StorageError("an S3 store needs a bucket name")
        self.bucket = bucket
        self.prefix = _normalize_prefix(prefix)
        self.endpoint_url = endpoint_url
        config = Config(
            s3={"addressing_style": "path"},
            signature_version="s3v4",
            retries={"max_attempts": 3, "mode": "standard"},
        )
        # Credentials left as None fall back to boto3's own chain (environment, profile, instance role).
        self._client: S3Client = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            config=config,
        )

    def __repr__(self) -> str:  # never shows credentials
        return f"S3ObjectStore(bucket={self.bucket!r}, prefix={self.prefix!r}, endpoint={self.endpoint_url!r})"

    def close(self) -> None:
        """Close the client's connection pool (optional; the garbage collector does it too)."""
        self._client.close()

    def _full(self, key: str) -> str:
        return self.prefix + keys.validate_key(key)

    async def _call(self, what: str, key: str, fn: Any, /, **kwargs: Any) -> Any:
        """Run one boto3 call in a thread and translate its errors into the storage error family."""
        try:
            return await asyncio.to_thread(fn, **kwargs)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in _NOT_FOUND_CODES:
                raise ObjectNotFound(f"no object {key!r}", details={"key": key}) from exc
            raise StorageError(f"S3 {what} of {key!r} failed: {code or exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"S3 {what} of {key!r} failed: {exc}") from exc

    # --- writes -----------------------------------------------------------------------------------
    async def put(self, key: str, data: bytes, *, content_type: str = DEFAULT_CONTENT_TYPE) -> None:
        full = self._full(key)
        await self._call(
            "put",
            key,
            self._client.put_object,
            Bucket=self.bucket,
            Key=full,
            Body=bytes(data),
            ContentType=content_type,
        )

    async def delete(self, key: str) -> None:
        full = self._full(key)
        try:
            await self._call("delete", key, self._client.delete_object, Bucket=self.bucket, Key=full)
        except ObjectNotFound:
            return  # S3 itself answers 204; some compatible servers answer 404

    # --- reads ------------------------------------------------------------------------------------
    async def get(self, key: str) -> bytes:
        full = self._full(key)
        response = await self._call("get", key, self._client.get_object, Bucket=self.bucket, Key=full)
        body = response["Body"]
        try:
            data: bytes = await asyncio.to_thread(body.read)
        except BotoCoreError as exc:
            raise StorageError(f"S3 get of {key!r} failed while reading: {exc}") from exc
        finally:
            body.close()
        return data

    async def exists(self, key: str) -> bool:
        full = self._full(key)
        try:
            await self._call("head", key, self._client.head_object, Bucket=self.bucket, Key=full)
        except ObjectNotFound:
            return False
        return True

    async def list(self, prefix: str) -> builtins.list[ObjectInfo]:
        keys.validate_prefix(prefix)
        found: builtins.list[ObjectInfo] = await self._call("list", prefix, self._list_sync, prefix=prefix)
        return found

    def _list_sync(self, prefix: str) -> builtins.list[ObjectInfo]:
        found: builtins.list[ObjectInfo] = []
        paginator = self._client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
            for item in page.get("Contents", []):
                modified = item["LastModified"]
                if modified.tzinfo is None:
                    modified = modified.replace(tzinfo=UTC)
                found.append(ObjectInfo(key=item["Key"][len(self.prefix) :], size=item["Size"], modified=modified))
        found.sort(key=lambda info: info.key)
        return found

    async def download_url(self, key: str, expires_in: int = 3600) -> str | None:
        full = self._full(key)
        check_expiry(expires_in)
        url: str = await self._call(
            "presign",
            key,
            self._client.generate_presigned_url,
            ClientMethod="get_object",
            Params={"Bucket": self.bucket, "Key": full},
            ExpiresIn=expires_in,
        )
        return url

    async def stream(self, key: str) -> AsyncIterator[bytes]:
        full = self._full(key)
        response = await self._call("get", key, self._client.get_object, Bucket=self.bucket, Key=full)
        body = response["Body"]
        try:
            while True:
                try:
                    chunk: bytes = await asyncio.to_thread(body.read, STREAM_CHUNK_SIZE)
                except BotoCoreError as exc:
                    raise StorageError(f"S3 get of {key!r} failed while reading: {exc}") from exc
                if not chunk:
                    return
                yield chunk
        finally:
            body.close()
