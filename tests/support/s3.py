"""S3 for tests: moto's *server mode* as a real process on loopback, a fresh bucket per test.

Import the fixtures into a suite's ``conftest.py``::

    from support.s3 import moto_endpoint, s3_bucket  # noqa: F401  (pytest fixtures)
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import boto3
import httpx
import pytest
from botocore.config import Config

from support.net import free_port

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

ACCESS_KEY_ID = "testing"
SECRET_ACCESS_KEY = "testing"
REGION = "us-east-1"


@dataclass(frozen=True)
class S3Endpoint:
    url: str
    region: str = REGION
    access_key_id: str = ACCESS_KEY_ID
    secret_access_key: str = SECRET_ACCESS_KEY

    def client(self) -> S3Client:
        """A plain boto3 client on the endpoint, for test set-up and checks behind the store's back."""
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.url,
            region_name=self.region,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            config=Config(s3={"addressing_style": "path"}),
        )


def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto server exited with code {process.returncode} before answering")
        try:
            # moto answers S3's ListBuckets on "/"; any HTTP answer means it is serving.
            httpx.get(url + "/", timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise TimeoutError(f"moto server did not answer on {url} within {timeout}s")


def start_moto_server() -> tuple[subprocess.Popen[bytes], S3Endpoint]:
    port = free_port()
    env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY}
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = S3Endpoint(url=f"http://127.0.0.1:{port}")
    try:
        _wait_ready(endpoint.url, process)
    except BaseException:
        stop_moto_server(process)
        raise
    return process, endpoint


def stop_moto_server(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[S3Endpoint]:
    """A moto S3 server process for the test module, stopped at its end."""
    process, endpoint = start_moto_server()
    try:
        yield endpoint
    finally:
        stop_moto_server(process)


@pytest.fixture
def s3_bucket(moto_endpoint: S3Endpoint) -> Iterator[str]:
    """A fresh, empty bucket on the module's moto server; emptied and removed after the test."""
    name = f"test-{uuid.uuid4().hex[:20]}"
    client = moto_endpoint.client()
    client.create_bucket(Bucket=name)
    try:
        yield name
    finally:
        listed = client.list_objects_v2(Bucket=name)
        for item in listed.get("Contents", []):
            client.delete_object(Bucket=name, Key=item["Key"])
        client.delete_bucket(Bucket=name)
        client.close()
