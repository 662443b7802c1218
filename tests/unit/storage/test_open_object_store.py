from __future__ import annotations

from pathlib import Path

import pytest

from marketing_agent.errors import ConfigError
from marketing_agent.settings import Settings
from marketing_agent.storage import LocalObjectStore, S3ObjectStore, open_object_store


def test_default_is_a_folder_in_the_data_dir(tmp_path: Path) -> None:
    store = open_object_store(Settings(data_dir=tmp_path, storage_url=None))
    assert isinstance(store, LocalObjectStore)
    assert store.root == (tmp_path / "storage").resolve()


def test_file_url(tmp_path: Path) -> None:
    store = open_object_store(Settings(storage_url=(tmp_path / "with space").as_uri()))
    assert isinstance(store, LocalObjectStore)
    assert store.root == tmp_path / "with space"


def test_s3_url_without_an_endpoint_targets_aws() -> None:
    settings = Settings(storage_url="s3://my-bucket/some/prefix/", s3_region="eu-west-1", s3_endpoint_url=None)
    store = open_object_store(settings)
    assert isinstance(store, S3ObjectStore)
    assert (store.bucket, store.prefix, store.endpoint_url) == ("my-bucket", "some/prefix/", None)
    store.close()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://host/x", "unsupported scheme 'ftp'"),
        ("relative/path", "unsupported scheme ''"),
        ("file://server/share", "names a host"),
        ("file:relative", "absolute path"),
        ("s3://", "bucket"),
        ("s3:///prefix", "bucket"),
        ("s3://bucket/p?x=1", "query"),
    ],
)
def test_bad_urls_are_config_errors(url: str, reason: str) -> None:
    with pytest.raises(ConfigError) as info:
        open_object_store(Settings(storage_url=url))
    assert reason in info.value.message
    assert "file:///absolute/path or s3://bucket/prefix" in info.value.message


def test_credentials_in_the_url_are_refused_and_not_echoed() -> None:
    with pytest.raises(ConfigError) as info:
        open_object_store(Settings(storage_url="s3://AKIDEXAMPLE:hunter2@bucket/p"))
    assert "hunter2" not in info.value.message
    assert "AWS_SECRET_ACCESS_KEY" in info.value.message


def test_a_bad_endpoint_is_a_config_error_naming_the_setting() -> None:
    with pytest.raises(ConfigError, match="S3_ENDPOINT_URL"):
        open_object_store(Settings(storage_url="s3://bucket/p", s3_endpoint_url="not a url"))
