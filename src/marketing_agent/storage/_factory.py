"""Build the configured object store from ``STORAGE_URL``."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import unquote, urlsplit

from marketing_agent.errors import ConfigError, MarketingAgentError
from marketing_agent.settings import Settings
from marketing_agent.storage._local import LocalObjectStore
from marketing_agent.storage._protocol import ObjectStore
from marketing_agent.storage._s3 import S3ObjectStore

logger = logging.getLogger(__name__)

_EXPECTED = "expected file:///absolute/path or s3://bucket/prefix"


def _redacted(url: str) -> str:
    """The URL without any user:password part, safe for messages and logs."""
    parts = urlsplit(url)
    if "@" in parts.netloc:
        parts = parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1])
    return parts.geturl()


def open_object_store(settings: Settings) -> ObjectStore:
    """The store ``settings.resolved_storage_url`` names; :class:`ConfigError` when it makes no sense."""
    url = settings.resolved_storage_url
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise ConfigError(f"STORAGE_URL {_redacted(url)!r} is not a URL: {exc}; {_EXPECTED}") from exc
    if parts.query or parts.fragment:
        raise ConfigError(f"STORAGE_URL {_redacted(url)!r} must not have a query or fragment; {_EXPECTED}")

    if parts.scheme == "file":
        if parts.netloc not in {"", "localhost"}:
            raise ConfigError(f"STORAGE_URL {_redacted(url)!r} names a host; {_EXPECTED}")
        path = Path(unquote(parts.path))
        if not parts.path or not path.is_absolute():
            raise ConfigError(f"STORAGE_URL {_redacted(url)!r} needs an absolute path; {_EXPECTED}")
        logger.info("object storage: local folder %s", path)
        return LocalObjectStore(path)

    if parts.scheme == "s3":
        if "@" in parts.netloc or not parts.netloc:
            raise ConfigError(
                f"STORAGE_URL {_redacted(url)!r} needs a bucket name (credentials go in AWS_ACCESS_KEY_ID "
                f"and AWS_SECRET_ACCESS_KEY); {_EXPECTED}"
            )
        secret = settings.aws_secret_access_key
        try:
            store = S3ObjectStore(
                parts.netloc,
                unquote(parts.path),
                endpoint_url=settings.s3_endpoint_url,
                region=settings.s3_region,
                access_key_id=settings.aws_access_key_id,
                secret_access_key=secret.get_secret_value() if secret is not None else None,
            )
        except (MarketingAgentError, ValueError) as exc:
            message = getattr(exc, "message", str(exc))
            raise ConfigError(
                f"cannot open STORAGE_URL {_redacted(url)!r}: {message} (check the URL, S3_ENDPOINT_URL and S3_REGION)"
            ) from exc
        logger.info(
            "object storage: S3 bucket %s prefix %r endpoint %s",
            store.bucket,
            store.prefix,
            settings.s3_endpoint_url or "AWS",
        )
        return store

    raise ConfigError(f"STORAGE_URL {_redacted(url)!r} has an unsupported scheme {parts.scheme!r}; {_EXPECTED}")
