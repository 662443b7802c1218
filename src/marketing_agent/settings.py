"""Typed settings, read from the environment once at start-up and passed down.

There is deliberately no module-level settings object: call :func:`load_settings` in an entry point
(CLI command, app factory) and hand the result to whatever needs it.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from marketing_agent.netguard import AllowList


class LLMProviderName(StrEnum):
    ANTHROPIC = "anthropic"
    OPENAI = "openai"
    LOCAL = "local"


class SearchProviderName(StrEnum):
    BRAVE = "brave"
    TAVILY = "tavily"
    SEARXNG = "searxng"


class Settings(BaseSettings):
    """Every environment variable the system reads (the README's settings table mirrors this class)."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # --- where things live ---------------------------------------------------------------------------
    data_dir: Path = Field(Path("./.marketing-agent"), description="Folder for embedded databases and files.")
    database_url: str | None = Field(None, description="App database; default: SQLite file in DATA_DIR.")
    engine_database_url: str | None = Field(None, description="Engine store; default: another SQLite file in DATA_DIR.")
    storage_url: str | None = Field(
        None, description="`file:///path` or `s3://bucket/prefix`; default: DATA_DIR/storage."
    )
    s3_endpoint_url: str | None = Field(None, description="S3-compatible endpoint (path-style addressing).")
    s3_region: str = Field("us-east-1", description="S3 region.")
    aws_access_key_id: str | None = Field(None, description="S3 access key id.")
    aws_secret_access_key: SecretStr | None = Field(None, description="S3 secret key.")
    skills_dir: Path | None = Field(None, description="Extra folder of skills (SKILL.md folders).")
    workflows_dir: Path | None = Field(None, description="Extra folder of workflow definitions (`<name>.yaml`).")

    # --- processes ----------------------------------------------------------------------------------
    api_host: str = Field("127.0.0.1", description="API bind host.")
    api_port: int = Field(8000, ge=1, le=65535, description="API port.")
    engine_host: str = Field("127.0.0.1", description="Engine bind host.")
    engine_port: int = Field(8288, ge=1, le=65535, description="Engine (and dashboard) port.")
    public_api_url: str | None = Field(
        None, description="Public base URL of the API, used in links; default http://API_HOST:API_PORT."
    )
    output_link_ttl: int = Field(
        7 * 24 * 3600, ge=60, description="Seconds a signed output link in a notification stays valid (7 days)."
    )
    output_link_key: SecretStr | None = Field(
        None,
        description="HMAC key of output links; rotating it revokes them. Default: derived from INNGEST_SIGNING_KEY,"
        " else a random key in DATA_DIR.",
    )
    engine_dashboard_token: SecretStr | None = Field(
        None, description="Token for the dashboard when not in dev mode / not on loopback."
    )
    engine_retention_days: float = Field(
        7.0, ge=0, description="The engine prunes finished runs and events older than this (0 keeps all)."
    )
    otel_exporter_otlp_endpoint: str | None = Field(
        None,
        description="OpenTelemetry: export traces over OTLP/HTTP to this base URL (e.g. http://127.0.0.1:4318);"
        " unset: no tracing (docs/observability.md).",
    )
    engine_fast_retries: bool = Field(
        False, description="Engine retries after 0.1 s … 2 s instead of Inngest's 15 s … 2 h (demos, tests)."
    )
    engine_ai_gateway_hosts: str | None = Field(
        None,
        description="Comma list of model provider hosts (`host` or `host:port`) the engine's step.ai.infer may"
        " call; default api.openai.com, api.anthropic.com, generativelanguage.googleapis.com.",
    )
    engine_allowed_hosts: str | None = Field(
        None, description="Comma list of extra Host names the engine answers to (behind a proxy: its public name)."
    )
    access_log: bool = Field(False, description="Log one line per HTTP request (uvicorn's access log).")
    forwarded_allow_ips: str = Field(
        "127.0.0.1",
        description="Proxies (comma list of IPs, or *) whose X-Forwarded-Proto/For are trusted: behind TLS,"
        " cookies are then Secure and client addresses real.",
    )
    stuck_run_threshold_seconds: int = Field(300, ge=10, description="A run `running` longer is stuck.")

    # --- LLM ----------------------------------------------------------------------------------------
    llm_provider: LLMProviderName | None = Field(None, description="anthropic | openai | local.")
    llm_model: str | None = Field(None, description="Model name; default per provider.")
    anthropic_api_key: SecretStr | None = Field(None, description="Anthropic API key.")
    anthropic_base_url: str | None = Field(None, description="Anthropic API origin.")
    openai_api_key: SecretStr | None = Field(None, description="OpenAI(-compatible) API key.")
    openai_base_url: str | None = Field(None, description="OpenAI-compatible base URL (Ollama, vLLM…).")
    llm_allowed_models: str | None = Field(
        None, description="Comma list of models a run may pick with options.model (LLM_MODEL always may)."
    )
    llm_max_tokens_cap: int = Field(16_000, ge=1, description="Most output tokens a run may ask for (maxTokens).")
    context_budget_cap_tokens: int = Field(
        50_000, ge=500, description="Largest client-context budget a run may ask for (contextBudgetTokens)."
    )
    api_rate_limit_per_minute: int = Field(
        120, ge=0, description="API requests per user per minute (each API process counts alone; 0: no limit)."
    )
    runs_per_day: int = Field(
        500, ge=0, description="Runs a user may start through the API per 24 hours (0: no limit)."
    )
    llm_timeout_seconds: float = Field(120.0, gt=0, description="Timeout of one LLM call.")

    # --- the agent loop (docs/agent-loop.md) --------------------------------------------------------
    run_max_cost_usd: float = Field(1.0, gt=0, description="Most a skill run may spend on the LLM, in USD.")
    run_max_tokens: int = Field(
        500_000, ge=1000, description="Most tokens (input + output, summed over turns) a skill run may use."
    )
    web_fetch_allow_hosts: str | None = Field(
        None, description="Comma list of `host` / `host:port` web_fetch may reach on non-public addresses."
    )
    search_provider: SearchProviderName | None = Field(
        None, description="brave | tavily | searxng: web_search when the LLM is not Anthropic."
    )
    search_api_key: SecretStr | None = Field(None, description="Key of the Brave or Tavily search API.")
    search_api_url: str | None = Field(
        None, description="SearXNG instance URL (required for searxng); overrides the Brave/Tavily endpoint."
    )

    # --- Telegram, notifications, alerts ------------------------------------------------------------
    telegram_bot_token: SecretStr | None = Field(None, description="Bot token; enables the bot.")
    telegram_api_base_url: str = Field("https://api.telegram.org", description="Bot API origin.")
    telegram_webhook_secret: SecretStr | None = Field(None, description="Webhook secret token.")
    slack_webhook_url: SecretStr | None = Field(None, description="Slack incoming webhook for alerts.")
    smtp_url: SecretStr | None = Field(None, description="smtp://user:pass@host:port for e-mail.")
    smtp_from: str = Field("marketing-agent@localhost", description="Sender address of e-mails.")
    alert_channels: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma list of where alerts go: slack, email:addr, webhook:url, log."
    )
    alert_email_to: str | None = Field(None, description="Recipient of e-mail alerts.")
    alert_webhook_secret: SecretStr | None = Field(
        None, description="HMAC key that signs webhook alerts (as completion webhooks are signed); required for them."
    )
    notify_allowed_hosts: str | None = Field(
        None,
        description="Comma list of hosts (`host` or `host:port`) Slack, webhook and alert URLs may reach although"
        " they resolve to loopback/private/link-local addresses; all others are refused.",
    )

    # --- Inngest SDK (read by the SDK itself too) ---------------------------------------------------
    inngest_dev: str | None = Field("1", description="Dev mode of the Inngest SDK (default on).")
    inngest_base_url: str | None = Field(None, description="Engine / Inngest origin the app talks to.")
    inngest_event_key: SecretStr | None = Field(None, description="Event key.")
    inngest_signing_key: SecretStr | None = Field(None, description="Signing key (production mode).")
    inngest_serve_origin: str | None = Field(None, description="Origin the engine reaches the app at.")

    @field_validator("alert_channels", mode="before")
    @classmethod
    def _split_channels(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("web_fetch_allow_hosts")
    @classmethod
    def _check_allow_hosts(cls, value: str | None) -> str | None:
        AllowList.parse(value)  # a bad entry is a ValueError naming it
        return value

    # --- derived values -----------------------------------------------------------------------------
    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{(self.data_dir / 'app.db').resolve()}"

    @property
    def resolved_engine_database_url(self) -> str:
        return self.engine_database_url or f"sqlite:///{(self.data_dir / 'engine.db').resolve()}"

    @property
    def resolved_storage_url(self) -> str:
        return self.storage_url or (self.data_dir / "storage").resolve().as_uri()

    @property
    def api_url(self) -> str:
        return (self.public_api_url or f"http://{self.api_host}:{self.api_port}").rstrip("/")

    @property
    def engine_url(self) -> str:
        return (self.inngest_base_url or f"http://{self.engine_host}:{self.engine_port}").rstrip("/")


def load_settings(**overrides: object) -> Settings:
    """Build the settings from the environment (and `.env`); keyword overrides win."""
    return Settings(**overrides)  # type: ignore[arg-type]
