"""``marketing-agent``: the one entry point (typer + rich).

Server commands (``up``, ``api``) migrate the app database first; user-facing commands (``clients``,
``run``) talk to a running API with ``--api-url`` and ``--api-key`` (``MARKETING_AGENT_API_KEY``).
Bad arguments or configuration exit with code 2 and a one-line reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Coroutine, Iterator
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import httpx
import typer
import uvicorn
from pydantic import SecretStr, ValidationError
from rich.console import Console
from rich.table import Table

from marketing_agent._step_lines import tool_detail
from marketing_agent.errors import ConfigError, MarketingAgentError
from marketing_agent.settings import Settings, load_settings

logger = logging.getLogger(__name__)
console = Console()
err_console = Console(stderr=True)
T = TypeVar("T")

app = typer.Typer(
    name="marketing-agent",
    help="An LLM marketing agent's skills as reliable background jobs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="The app database.", no_args_is_help=True)
users_app = typer.Typer(help="Users and API keys.", no_args_is_help=True)
skills_app = typer.Typer(help="The skill catalog.", no_args_is_help=True)
clients_app = typer.Typer(help="Clients and their context files (through the API).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(skills_app, name="skills")
app.add_typer(clients_app, name="clients")

# The engine's and the bot's own command groups, imported only when used: together they pull in a GraphQL
# library and the Telegram client, seconds of start-up every other command should not pay.
_FORWARD = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}


def _forward(group: typer.Typer, name: str, args: list[str]) -> None:
    typer.main.get_command(group)(args, prog_name=f"marketing-agent {name}")


@app.command("engine", context_settings=_FORWARD, add_help_option=False)
def engine_command(ctx: typer.Context) -> None:
    """The durable execution engine (Inngest SDK protocol): `marketing-agent engine --help`."""
    from marketing_agent.engine.cli import engine_app

    try:  # the engine reads its own flags; the settings only name the secrets to keep out of its log
        _setup_logging(load_settings())
    except ValidationError:
        _setup_logging()
    _forward(engine_app, "engine", ctx.args)


@app.command("bot", context_settings=_FORWARD, add_help_option=False)
def bot_command(ctx: typer.Context) -> None:
    """The Telegram bot: `marketing-agent bot --help`."""
    from marketing_agent.bot.cli import bot_cli

    try:  # the bot's HTTP client puts the bot token in every URL it logs
        _setup_logging(load_settings())
    except ValidationError:
        _setup_logging()
    _forward(bot_cli, "bot", ctx.args)


def fail(message: str) -> NoReturn:
    """One line on stderr, exit code 2 (bad arguments or configuration)."""
    sys.stderr.write("error: " + " ".join(message.split()) + "\n")
    raise typer.Exit(code=2)


def _settings() -> Settings:
    try:
        return load_settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        fail(f"bad setting {'.'.join(str(p) for p in first['loc']).upper()}: {first['msg']}")


def _run(coro: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(coro)
    except ConfigError as exc:
        fail(exc.message)


def _setup_logging(settings: Settings | None = None, level: str = "INFO") -> None:
    from marketing_agent.logs import setup_logging

    setup_logging(settings, level)


# --- database and app preparation ---------------------------------------------------------------------
async def _migrate(settings: Settings) -> None:
    from marketing_agent.db import upgrade_database
    from marketing_agent.db.session import normalize_database_url

    url = settings.resolved_database_url
    normalize_database_url(url)  # a bad URL is a ConfigError before anything connects
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        await upgrade_database(url)
    except MarketingAgentError:
        raise
    except Exception as exc:  # unreachable server, wrong password, unwritable file: all configuration
        raise ConfigError(f"cannot migrate the database: {type(exc).__name__}: {exc}") from exc


async def _sync_skill_table(settings: Settings) -> tuple[int, list[str]]:
    from marketing_agent.agent.skills import load_skill_catalog
    from marketing_agent.services import Database, sync_skills
    from marketing_agent.storage import open_object_store

    catalog = await load_skill_catalog(settings.skills_dir, open_object_store(settings))
    database = Database(settings.resolved_database_url)
    try:
        await sync_skills(database, catalog.all())
    finally:
        await database.dispose()
    return len(catalog), [f"{e.path}: {e.reason}" for e in catalog.errors]


async def _prepare(settings: Settings) -> None:
    """What every server start does: migrate, then bring the skills table in step with the catalog."""
    await _migrate(settings)
    count, problems = await _sync_skill_table(settings)
    logger.info("skills ready", extra={"skills": count})
    for problem in problems:
        logger.warning("skill skipped: %s", problem)


async def _ensure_local_user(settings: Settings) -> str | None:
    """On a first start (no users at all), create a local user and return its key — printed once."""
    from marketing_agent.services import Database, count_users, create_user

    database = Database(settings.resolved_database_url)
    try:
        if await count_users(database) > 0:
            return None
        return (await create_user(database, "local@localhost")).api_key
    finally:
        await database.dispose()


def _is_set(secret: SecretStr | None) -> bool:
    return secret is not None and bool(secret.get_secret_value().strip())


async def _keep_serving_without(part: Coroutine[Any, Any, None], name: str) -> None:
    """Run an optional part of ``up``; if it fails, say so and let the API and engine keep serving."""
    try:
        await part
    except MarketingAgentError as exc:
        logger.error("%s stopped: %s", name, exc.message)
    except Exception:
        logger.exception("%s stopped", name)


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signals to us: several run in one process and all must stop together."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _check_mode(settings: Settings, *, insecure_dev: bool, with_engine: bool) -> None:
    """Dev mode only on loopback; production only with a signing key (the API's side of the rule the engine's
    config enforces): a dev-mode ``/api/inngest`` runs any step a caller asks for, on our LLM key."""
    from marketing_agent.engine.config import is_loopback_host
    from marketing_agent.services.events import inngest_dev_mode

    if not inngest_dev_mode(settings):
        if not _is_set(settings.inngest_signing_key):
            raise ConfigError("production mode (INNGEST_DEV=0) needs INNGEST_SIGNING_KEY")
        return
    binds = {"API_HOST": settings.api_host} | ({"ENGINE_HOST": settings.engine_host} if with_engine else {})
    open_binds = [f"{name}={host}" for name, host in binds.items() if not is_loopback_host(host)]
    if not open_binds:
        return
    if not insecure_dev:
        raise ConfigError(
            f"dev mode only binds to loopback, not {', '.join(open_binds)}: set INNGEST_DEV=0 with"
            " INNGEST_EVENT_KEY and INNGEST_SIGNING_KEY (or pass --insecure-dev, at your risk)"
        )
    from marketing_agent.engine.cli import warn_insecure_dev

    warn_insecure_dev(" and ".join(open_binds))


def _mode_or_exit(settings: Settings, insecure_dev: bool, *, with_engine: bool) -> None:
    try:
        _check_mode(settings, insecure_dev=insecure_dev, with_engine=with_engine)
    except ConfigError as exc:
        fail(exc.message)


def _engine_app(settings: Settings, *, insecure_dev: bool = False) -> Any:
    """The engine for ``up``: its store beside the app's, syncing our serve endpoint at start."""
    from marketing_agent.engine import EngineConfig, EngineConfigError, create_engine_app
    from marketing_agent.engine.config import split_hosts
    from marketing_agent.services.events import inngest_dev_mode

    serve_origin = (settings.inngest_serve_origin or f"http://{settings.api_host}:{settings.api_port}").rstrip("/")
    event_key = settings.inngest_event_key.get_secret_value() if settings.inngest_event_key else None
    signing_key = settings.inngest_signing_key.get_secret_value() if settings.inngest_signing_key else None
    try:
        config = EngineConfig.from_env(
            database_url=settings.resolved_engine_database_url,
            host=settings.engine_host,
            port=settings.engine_port,
            dev=inngest_dev_mode(settings),
            insecure_dev=insecure_dev,
            ai_gateway_hosts=(
                split_hosts(settings.engine_ai_gateway_hosts) if settings.engine_ai_gateway_hosts is not None else None
            ),
            allowed_hosts=split_hosts(settings.engine_allowed_hosts or ""),
            event_keys=(event_key,) if event_key else None,
            signing_key=signing_key,
            app_urls=(f"{serve_origin}/api/inngest",),
            dashboard_token=(
                settings.engine_dashboard_token.get_secret_value() if settings.engine_dashboard_token else None
            ),
            retention_days=settings.engine_retention_days,
            fast_retries=settings.engine_fast_retries or None,
            otel_endpoint=settings.otel_exporter_otlp_endpoint,
        )
    except EngineConfigError as exc:
        raise ConfigError(f"engine: {exc}") from exc
    if config.database_url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return create_engine_app(config)


async def _serve(settings: Settings, *, with_everything: bool, insecure_dev: bool = False) -> None:
    """Serve the API with the durable functions mounted at /api/inngest; with ``with_everything`` (``up``)
    also the engine and, when TELEGRAM_BOT_TOKEN is set, the bot — all in this one process."""
    from marketing_agent.agent.detect import LLMSkillClassifier, SkillDetector
    from marketing_agent.api import create_api_app
    from marketing_agent.functions import FunctionsMount, close_inngest_client
    from marketing_agent.services import Database, InngestEventSender, make_inngest_client
    from marketing_agent.storage import open_object_store

    # Everything that can refuse the configuration comes first, before anything is opened.
    engine = _engine_app(settings, insecure_dev=insecure_dev) if with_everything else None
    store = open_object_store(settings)
    client = make_inngest_client(settings)
    functions = FunctionsMount(client=client)
    database = Database(settings.resolved_database_url)
    events = InngestEventSender(client)
    detector = SkillDetector(LLMSkillClassifier.from_settings(settings))  # the API's and the webhook bot's
    routers: list[Any] = []
    webhook_bot: Any = None
    if not with_everything and _is_set(settings.telegram_bot_token) and _is_set(settings.telegram_webhook_secret):
        # Webhook mode (API replicas): Telegram posts updates to POST /api/v1/webhooks/telegram.
        from marketing_agent.bot import BotService, create_telegram_webhook_router
        from marketing_agent.bot.services_backend import ServicesBotBackend

        webhook_bot = BotService(settings, ServicesBotBackend(database, store, events, detector))
        routers.append(create_telegram_webhook_router(webhook_bot))
    api = create_api_app(
        settings,
        database=database,
        store=store,
        event_sender=events,
        skill_detector=detector,
        mount_functions=functions,
        extra_routers=routers,
    )
    stop = asyncio.Event()
    extra: list[Coroutine[Any, Any, None]] = []
    served: Any = api
    if engine is not None:
        from marketing_agent._ready import ReadyGate, mark_ready_when_synced

        ready = asyncio.Event()
        served = ReadyGate(api, ready)
        extra.append(mark_ready_when_synced(engine, ready, stop))
    # The access log is off unless ACCESS_LOG asks for it: its lines carry paths such as /e/<event key>.
    access_log = settings.access_log
    servers = [
        _Server(
            uvicorn.Config(
                served,
                host=settings.api_host,
                port=settings.api_port,
                log_level="info",
                access_log=access_log,
                forwarded_allow_ips=settings.forwarded_allow_ips,
            )
        )
    ]
    if engine is not None:
        servers.append(
            _Server(
                uvicorn.Config(
                    engine,
                    host=settings.engine_host,
                    port=settings.engine_port,
                    log_level="info",
                    access_log=access_log,
                    forwarded_allow_ips=settings.forwarded_allow_ips,
                )
            )
        )
        if _is_set(settings.telegram_bot_token):
            from marketing_agent.bot.cli import run_bot

            extra.append(_keep_serving_without(run_bot(settings, stop=stop), "the Telegram bot"))

    def shut_down() -> None:
        stop.set()
        for server in servers:
            server.should_exit = True

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, shut_down)
    try:
        results = await asyncio.gather(*(s.serve() for s in servers), *extra, return_exceptions=True)
    finally:
        if webhook_bot is not None:
            await webhook_bot.stop()
        await detector.aclose()
        await functions.aclose()
        await close_inngest_client(client)
        await database.dispose()
    for result in results:
        if isinstance(result, BaseException):
            raise result
    if any(not s.started for s in servers) and not stop.is_set():
        raise ConfigError("a server could not start (is the port already in use?)")


# --- server commands ----------------------------------------------------------------------------------
InsecureDev = Annotated[
    bool,
    typer.Option(
        "--insecure-dev", help="Allow dev mode (INNGEST_DEV=1) on a non-loopback API_HOST / ENGINE_HOST. Unsafe."
    ),
]


@app.command()
def up(insecure_dev: InsecureDev = False) -> None:
    """Run everything in one process on embedded defaults (SQLite and a local folder under DATA_DIR)."""
    settings = _settings()
    _setup_logging(settings)
    _mode_or_exit(settings, insecure_dev, with_engine=True)
    _run(_prepare(settings))
    key = _run(_ensure_local_user(settings))
    if key is not None:
        console.print("[bold]Created a local user.[/bold] Its API key (shown only now):")
        console.print(key, markup=False, highlight=False)
    console.print(f"API      {settings.api_url}/api/v1   (docs: {settings.api_url}/docs)", markup=False)
    console.print(f"Engine   {settings.engine_url}   (dashboard)", markup=False)
    _run(_serve(settings, with_everything=True, insecure_dev=insecure_dev))


@app.command("api")
def api_command(insecure_dev: InsecureDev = False) -> None:
    """Run the REST API alone (migrates the database first)."""
    settings = _settings()
    _setup_logging(settings)
    _mode_or_exit(settings, insecure_dev, with_engine=False)
    _run(_prepare(settings))
    _run(_serve(settings, with_everything=False, insecure_dev=insecure_dev))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations to DATABASE_URL."""
    settings = _settings()
    _run(_migrate(settings))
    console.print("database is up to date")


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option("--email", help="The user's e-mail address.")],
    as_json: Annotated[bool, typer.Option("--json", help='Print {"user_id", "api_key"}.')] = False,
) -> None:
    """Create a user and print its API key (shown only this once)."""
    from marketing_agent.services import Database, create_user

    settings = _settings()

    async def go() -> tuple[str, str]:
        await _migrate(settings)
        database = Database(settings.resolved_database_url)
        try:
            created = await create_user(database, email)
        finally:
            await database.dispose()
        return str(created.user.id), created.api_key

    try:
        user_id, api_key = _run(go())
    except MarketingAgentError as exc:
        fail(exc.message)
    if as_json:
        sys.stdout.write(json.dumps({"user_id": user_id, "api_key": api_key}) + "\n")
    else:
        console.print(f"user {user_id} created; API key (shown only now):", markup=False)
        console.print(api_key, markup=False, highlight=False)


@skills_app.command("list")
def skills_list() -> None:
    """List the skills the catalog loads (built-in, SKILLS_DIR, storage) and any that failed to load."""
    from marketing_agent.agent.skills import load_skill_catalog
    from marketing_agent.storage import open_object_store

    settings = _settings()
    catalog = _run(load_skill_catalog(settings.skills_dir, open_object_store(settings)))
    table = Table("name", "category", "type", "source", "description")
    for skill in catalog.all():
        category = skill.metadata.category.value if skill.metadata.category else "-"
        table.add_row(skill.name, category, skill.metadata.type, skill.source.value, skill.description[:80])
    console.print(table)
    for problem in catalog.errors:
        err_console.print(f"skipped {problem.path}: {problem.reason}", markup=False)


@skills_app.command("sync")
def skills_sync() -> None:
    """Bring the skills table in step with the catalog."""
    settings = _settings()
    _run(_migrate(settings))
    count, problems = _run(_sync_skill_table(settings))
    console.print(f"{count} skills in the catalog; table synced")
    for problem in problems:
        err_console.print(f"skipped {problem}", markup=False)


# --- commands that talk to a running API --------------------------------------------------------------
ApiUrl = Annotated[
    str | None,
    typer.Option("--api-url", envvar="MARKETING_AGENT_API_URL", help="Default: the API's own URL."),
]
ApiKey = Annotated[str | None, typer.Option("--api-key", envvar="MARKETING_AGENT_API_KEY", help="Your API key.")]


class ApiClient:
    """A tiny synchronous client for the REST API (envelope unwrapped, errors turned into one line)."""

    def __init__(self, api_url: str | None, api_key: str | None) -> None:
        if not api_key:
            fail("an API key is needed: --api-key or MARKETING_AGENT_API_KEY")
        base = (api_url or _settings().api_url).rstrip("/")
        self.http = httpx.Client(
            base_url=f"{base}/api/v1", headers={"Authorization": f"Bearer {api_key}"}, timeout=30.0
        )

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            fail(f"cannot reach the API at {self.http.base_url}: {exc}")
        if response.headers.get("content-type", "").startswith("text/markdown"):
            return response.text
        try:
            body = response.json()
        except ValueError:
            fail(f"HTTP {response.status_code} from the API")
        if not body.get("success"):
            error = body.get("error", {})
            fail(f"{error.get('code', response.status_code)}: {error.get('message', '')}")
        return body["data"]

    def client_id(self, slug: str) -> str:
        offset = 0
        while True:
            page = self.call("GET", "/clients", params={"limit": 100, "offset": offset})
            for client in page["clients"]:
                if client["slug"] == slug:
                    return str(client["id"])
            offset += 100
            if offset >= page["total"]:
                fail(f"no client with slug {slug!r}")


@clients_app.command("create")
def clients_create(
    name: Annotated[str, typer.Option("--name", help="The client's display name.")],
    slug: Annotated[str, typer.Option("--slug", help="lowercase-with-hyphens, unique among your clients.")],
    description: Annotated[str | None, typer.Option("--description")] = None,
    api_url: ApiUrl = None,
    api_key: ApiKey = None,
) -> None:
    """Create a client."""
    body: dict[str, Any] = {"name": name, "slug": slug}
    if description is not None:
        body["description"] = description
    created = ApiClient(api_url, api_key).call("POST", "/clients", json=body)
    console.print(f"client {created['id']} created; files go under {created['s3Prefix']}", markup=False)


@clients_app.command("upload")
def clients_upload(
    slug: Annotated[str, typer.Argument(help="The client's slug.")],
    files: Annotated[list[Path], typer.Argument(help="Markdown files to upload.", exists=True, dir_okay=False)],
    as_path: Annotated[
        str | None,
        typer.Option("--as", help="Path in the client's folder (one file only), e.g. brand/voice.md."),
    ] = None,
    api_url: ApiUrl = None,
    api_key: ApiKey = None,
) -> None:
    """Upload context files (profile.md, brand/voice.md…) to a client's folder."""
    if as_path is not None and len(files) != 1:
        fail("--as takes exactly one file")
    api = ApiClient(api_url, api_key)
    client_id = api.client_id(slug)
    for file in files:
        target = as_path or file.name
        api.call(
            "PUT",
            f"/clients/{client_id}/files/{target}",
            content=file.read_bytes(),
            headers={"Content-Type": "text/markdown"},
        )
        console.print(f"uploaded {file} → {target}", markup=False)


_FINAL = {"completed", "failed", "cancelled"}


class _StepWatcher:
    """Reads the function run's steps from the engine (``GET /v1/runs/{id}``) to show them as they finish.

    Best effort: an engine that is elsewhere, protected or down only means no step lines.
    """

    def __init__(self, engine_url: str) -> None:
        token = os.environ.get("ENGINE_DASHBOARD_TOKEN")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=engine_url.rstrip("/"), headers=headers, timeout=5.0)
        self.seen: dict[str, tuple[str, int]] = {}
        self.enabled = True

    def new_lines(self, engine_run_id: str | None) -> list[str]:
        if not engine_run_id or not self.enabled:
            return []
        try:
            response = self.http.get(f"/v1/runs/{engine_run_id}")
            steps = response.json()["data"]["steps"] if response.status_code == 200 else []
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            self.enabled = False
            return []
        lines = []
        for step in steps:
            name = str(step.get("name") or step.get("step_id"))
            state = (str(step.get("status")), int(step.get("attempts") or 0))
            if self.seen.get(name) != state:
                self.seen[name] = state
                retry = f" (attempt {state[1]})" if state[1] > 1 else ""
                lines.append(f"step {name}: {state[0]}{retry}{tool_detail(step)}")
        return lines


def _follow(api: ApiClient, run_id: str, skill: str, status: str, poll: float, steps: _StepWatcher) -> Any:
    """Poll the run until it finishes, printing status changes and engine steps; the final run."""
    started = time.monotonic()
    with console.status(f"{skill}: {status}") as spinner:
        while True:
            run = api.call("GET", f"/runs/{run_id}")
            elapsed = time.monotonic() - started
            for line in steps.new_lines(run.get("engineRunId")):
                console.print(f"{elapsed:6.1f}s    {line}", markup=False)
            if run["status"] != status:
                status = run["status"]
                console.print(f"{elapsed:6.1f}s  {status}", markup=False)
            spinner.update(f"{skill}: {status} ({elapsed:.0f}s)")
            if status in _FINAL:
                for line in steps.new_lines(run.get("engineRunId")):
                    console.print(f"{elapsed:6.1f}s    {line}", markup=False)
                return run
            time.sleep(poll)


@app.command("run")
def run_command(
    skill: Annotated[str, typer.Argument(help="Skill name, e.g. copywriting.")],
    message: Annotated[str, typer.Argument(help="What you want, in your words.")],
    *,
    client: Annotated[str | None, typer.Option("--client", help="Client slug.")] = None,
    options: Annotated[str | None, typer.Option("--options", help="JSON object of skill options.")] = None,
    follow: Annotated[bool, typer.Option("--follow", help="Wait, show progress, print the output.")] = False,
    poll: Annotated[float, typer.Option("--poll", min=0.1, help="Seconds between status checks.")] = 1.0,
    api_url: ApiUrl = None,
    api_key: ApiKey = None,
    engine_url: Annotated[
        str | None, typer.Option("--engine-url", help="Engine to read the steps from (default: INNGEST_BASE_URL).")
    ] = None,
) -> None:
    """Run a skill through the API; with --follow, show its status and steps live and print the output."""
    body: dict[str, Any] = {"skillName": skill, "message": message}
    if options is not None:
        try:
            body["options"] = json.loads(options)
        except ValueError:
            fail("--options must be a JSON object")
        if not isinstance(body["options"], dict):
            fail("--options must be a JSON object")
    api = ApiClient(api_url, api_key)
    if client is not None:
        body["clientId"] = api.client_id(client)
    queued = api.call("POST", "/runs", json=body)
    run_id = queued["runId"]
    console.print(f"run {run_id} queued", markup=False)
    if not follow:
        return
    run = _follow(api, run_id, skill, queued["status"], poll, _StepWatcher(engine_url or _settings().engine_url))
    status = run["status"]
    if status != "completed":
        err_console.print(f"run {status}: {run.get('errorMessage') or ''}", markup=False)
        raise typer.Exit(code=1)
    usage = f"tokens {run.get('tokensInput')} in / {run.get('tokensOutput')} out, ${run.get('costUsd') or 0:.4f}"
    console.print(usage, markup=False)
    if run.get("output"):
        content = api.call("GET", f"/outputs/{run['output']['id']}/content")
        console.rule(run["output"]["title"])
        sys.stdout.write(str(content).rstrip() + "\n")


@app.command("mcp")
def mcp_command(api_url: ApiUrl = None, api_key: ApiKey = None) -> None:
    """Serve the MCP tools over stdio for desktop assistants (docs/mcp.md); they call the API with your key."""
    from marketing_agent.mcp_server import MarketingApi, build_user_server

    if not api_key:
        fail("an API key is needed: --api-key or MARKETING_AGENT_API_KEY")
    client = MarketingApi.over_network(api_url or _settings().api_url, api_key)

    @contextlib.asynccontextmanager
    async def as_configured_user(_ctx: object) -> AsyncIterator[MarketingApi]:
        yield client  # one key, one client for the whole session

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)  # stdout carries the protocol
    build_user_server(as_configured_user).run("stdio")


# Registered last: the schedules commands reuse ApiClient and fail from this module.
from marketing_agent.cli_schedules import schedules_app  # noqa: E402

app.add_typer(schedules_app, name="schedules")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
