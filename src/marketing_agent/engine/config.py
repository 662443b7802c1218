"""Engine settings: one frozen dataclass, built once by the caller (CLI, ``marketing-agent up``, tests)."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from .errors import EngineConfigError

DEFAULT_DATABASE_URL = "sqlite:///./.marketing-agent/engine.db"

# Inngest's retry table (pkg/backoff): seconds before retry n (0-based); the last entry repeats.
INNGEST_BACKOFF_TABLE: tuple[float, ...] = (15, 30, 60, 120, 300, 600, 1200, 2400, 3600, 7200)
INNGEST_BACKOFF_JITTER = 30.0
# The fast schedule (dev and tests): 0.1 s, 0.2 s, 0.4 s … capped at 2 s, jitter up to 50 ms.
FAST_BACKOFF_TABLE: tuple[float, ...] = (0.1, 0.2, 0.4, 0.8, 1.6, 2.0)
FAST_BACKOFF_JITTER = 0.05

#: Model provider hosts ``step.ai.infer`` may call by default (``ENGINE_AI_GATEWAY_HOSTS`` replaces the list).
DEFAULT_AI_GATEWAY_HOSTS: tuple[str, ...] = (
    "api.openai.com",
    "api.anthropic.com",
    "generativelanguage.googleapis.com",
)
#: Host names that always mean "this machine" (the Host check accepts them; dev mode binds only to them).
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
_WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})


@dataclass(frozen=True)
class EngineConfig:
    """Everything the engine reads. No environment access after construction (see :meth:`from_env`)."""

    #: ``sqlite:///path`` (WAL, one engine process) or ``postgresql://…`` (several processes may share it).
    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = 8288
    #: Dev mode: any event key accepted, no request signing (the SDK apps run with ``INNGEST_DEV=1``).
    #: Only on a loopback ``host``: anyone who reaches a dev engine can register functions and read runs.
    dev: bool = True
    #: ``--insecure-dev``: allow dev mode on a non-loopback ``host`` anyway (a trusted, isolated network).
    insecure_dev: bool = False
    #: Accepted event keys in production mode (``/e/{key}`` answers 401 for any other key).
    event_keys: tuple[str, ...] = ()
    #: ``signkey-<env>-<hex>``: requests to apps are signed and their responses verified (production mode).
    signing_key: str | None = None
    #: Provider hosts (``host`` or ``host:port``) that ``step.ai.infer`` may call (``ENGINE_AI_GATEWAY_HOSTS``).
    ai_gateway_hosts: tuple[str, ...] = DEFAULT_AI_GATEWAY_HOSTS
    #: Host header names accepted besides loopback names and ``host`` (``ENGINE_ALLOWED_HOSTS``); behind a
    #: proxy, the public name. See ``http/request_guard.py``.
    allowed_hosts: tuple[str, ...] = ()
    #: App URLs (``http://host:port/api/inngest``) synced at start; retried until they answer.
    app_urls: tuple[str, ...] = ()
    #: Use the short retry schedule (0.1 s … 2 s) instead of Inngest's 15 s … 2 h table.
    fast_retries: bool = False
    #: Optional explicit backoff table in seconds (overrides both schedules when set).
    backoff_table: tuple[float, ...] | None = None
    #: Steps executing at once in this process (HTTP calls in flight to apps).
    max_concurrency: int = 256
    #: Lease on a claimed queue item; a process that stops heart-beating loses its items after this long.
    lease_seconds: float = 15.0
    #: Safety-net poll when idle (LISTEN/NOTIFY and in-process wake-ups do the hot path).
    poll_interval: float = 1.0
    #: Timeout for one HTTP call to an app (Inngest's step timeout is 2 h).
    request_timeout: float = 7200.0
    #: Give sync-at-start this long for an app to answer before logging and giving up.
    sync_timeout: float = 60.0
    #: Run the cron scheduler in this process.
    cron: bool = True
    #: Run queue workers in this process (False: an API-only engine process).
    workers: bool = True
    #: Limits (Inngest's defaults).
    max_step_output_bytes: int = 4 * 1024 * 1024
    max_run_state_bytes: int = 32 * 1024 * 1024
    max_steps_per_run: int = 1000
    max_event_bytes: int = 256 * 1024
    max_request_bytes: int = 3 * 1024 * 1024
    #: Above this request size, the call asks the SDK to fetch steps/events over the API (``use_api``).
    use_api_threshold_bytes: int = 4 * 1024 * 1024
    #: Dashboard and ``/metrics`` token (``ENGINE_DASHBOARD_TOKEN``). Without it they are open only to loopback
    #: clients in dev mode; with it, a browser logs in once (cookie) and scrapers send ``Bearer <token>``.
    dashboard_token: str | None = None
    #: Finished runs and events older than this many days are pruned in the background (0: keep forever).
    retention_days: float = 7.0
    #: OTLP/HTTP base URL (``http://collector:4318``): export OpenTelemetry traces of runs to
    #: ``<it>/v1/traces`` (docs/observability.md). ``from_env`` reads the standard ``OTEL_EXPORTER_OTLP_ENDPOINT``
    #: (ignored when ``OTEL_SDK_DISABLED=true``); the exporter reads ``OTEL_EXPORTER_OTLP_HEADERS`` & co. itself.
    otel_endpoint: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Accept lists (``app_urls=[...]``) while keeping the dataclass hashable and immutable.
        object.__setattr__(self, "app_urls", tuple(self.app_urls))
        object.__setattr__(self, "event_keys", tuple(self.event_keys))
        object.__setattr__(self, "ai_gateway_hosts", tuple(h.strip().lower() for h in self.ai_gateway_hosts))
        object.__setattr__(self, "allowed_hosts", tuple(h.strip().lower() for h in self.allowed_hosts))
        if not (self.database_url.startswith("sqlite:") or self.database_url.startswith("postgres")):
            raise EngineConfigError(f"database_url must be sqlite:///… or postgresql://…, got {self.database_url!r}")
        if not 0 < self.port < 65536:
            raise EngineConfigError(f"port out of range: {self.port}")
        if self.signing_key is not None and not _valid_signing_key(self.signing_key):
            raise EngineConfigError("signing_key must look like signkey-<env>-<even-length hex>")
        if not self.dev and not self.event_keys:
            raise EngineConfigError("production mode (dev=False) needs at least one event key")
        if not self.dev and not self.signing_key:
            # Without it /fn/register and the SDK API would be open to anyone who reaches the port.
            raise EngineConfigError("production mode (dev=False) needs a signing key (INNGEST_SIGNING_KEY)")
        if self.dev and not self.insecure_dev and not is_loopback_host(self.host):
            raise EngineConfigError(
                f"dev mode trusts everyone who reaches the engine, so it only binds to loopback, not {self.host!r};"
                " set INNGEST_DEV=0 with INNGEST_EVENT_KEY and INNGEST_SIGNING_KEY (or --insecure-dev, at your risk)"
            )
        if self.max_concurrency < 1:
            raise EngineConfigError("max_concurrency must be at least 1")
        if self.retention_days < 0:
            raise EngineConfigError("retention_days must be 0 (keep forever) or positive")

    @property
    def backoff(self) -> tuple[tuple[float, ...], float]:
        """(table, max jitter) used for retries."""
        if self.backoff_table:
            return self.backoff_table, 0.0
        if self.fast_retries:
            return FAST_BACKOFF_TABLE, FAST_BACKOFF_JITTER
        return INNGEST_BACKOFF_TABLE, INNGEST_BACKOFF_JITTER

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith("postgres")

    @classmethod
    def from_env(cls, **overrides: object) -> EngineConfig:
        """Defaults, then ``ENGINE_*`` variables, then explicit overrides (None values are ignored)."""
        env = os.environ
        values: dict[str, object] = {}
        if env.get("ENGINE_DATABASE_URL"):
            values["database_url"] = env["ENGINE_DATABASE_URL"]
        if env.get("ENGINE_FAST_RETRIES", "").lower() in {"1", "true", "yes"}:
            values["fast_retries"] = True
        if env.get("ENGINE_DASHBOARD_TOKEN"):
            values["dashboard_token"] = env["ENGINE_DASHBOARD_TOKEN"]
        if env.get("ENGINE_RETENTION_DAYS"):
            values["retention_days"] = float(env["ENGINE_RETENTION_DAYS"])
        if env.get("ENGINE_AI_GATEWAY_HOSTS") is not None:
            values["ai_gateway_hosts"] = split_hosts(env["ENGINE_AI_GATEWAY_HOSTS"])
        if env.get("ENGINE_ALLOWED_HOSTS"):
            values["allowed_hosts"] = split_hosts(env["ENGINE_ALLOWED_HOSTS"])
        values["otel_endpoint"] = otel_endpoint(env)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]


def split_hosts(value: str) -> tuple[str, ...]:
    """``"a.example, b.example:8443"`` → ``("a.example", "b.example:8443")``."""
    return tuple(part.strip().lower() for part in value.split(",") if part.strip())


def is_loopback_host(host: str) -> bool:
    """A bind host or Host-header name that only this machine can reach (``localhost``, 127/8, ::1)."""
    name = host.strip().lower().removeprefix("[").removesuffix("]")
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def is_wildcard_host(host: str) -> bool:
    return host.strip().removeprefix("[").removesuffix("]") in _WILDCARD_HOSTS


def otel_endpoint(env: Mapping[str, str]) -> str | None:
    """The standard switch: ``OTEL_EXPORTER_OTLP_ENDPOINT``, unless ``OTEL_SDK_DISABLED`` is ``true``."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    return env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip() or None


def _valid_signing_key(key: str) -> bool:
    import re

    match = re.match(r"^signkey-\w+?-([0-9a-fA-F]+)$", key)
    return bool(match) and len(match.group(1)) % 2 == 0 if match else False
