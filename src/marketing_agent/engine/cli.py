"""``marketing-agent engine``: run the engine server; ``marketing-agent engine sync URL``: sync an app."""

from __future__ import annotations

import json
import logging
import os
import sys
import urllib.error
import urllib.request
from typing import Annotated

import typer

from .config import EngineConfig
from .errors import EngineConfigError
from .replay_cli import replay_app

DEFAULT_DATA_DIR = "./.marketing-agent"
#: INNGEST_DEV values that mean production mode (as the app reads it: services/events.py).
_FALSY = frozenset({"", "0", "false", "no", "off"})


def default_database_url() -> str:
    """Another SQLite file in DATA_DIR, as ``up`` uses (``Settings.resolved_engine_database_url``)."""
    data_dir = os.path.abspath(os.environ.get("DATA_DIR") or DEFAULT_DATA_DIR)
    return f"sqlite:///{os.path.join(data_dir, 'engine.db')}"


engine_app = typer.Typer(help="The durable execution engine (Inngest SDK protocol).", no_args_is_help=False)
engine_app.add_typer(replay_app, name="replay")


def warn_insecure_dev(what: str) -> None:
    """``--insecure-dev`` is allowed, never quiet: one unmissable line on stderr and in the log."""
    message = (
        f"INSECURE: {what} runs in dev mode on a non-loopback interface; anyone who reaches it can register"
        " functions, send events and read every run. Use INNGEST_DEV=0 with keys outside a trusted network."
    )
    typer.secho(message, err=True, fg=typer.colors.RED, bold=True)
    logging.getLogger("marketing_agent.engine").warning(message)


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


@engine_app.callback(invoke_without_command=True)
def serve(
    ctx: typer.Context,
    # Every setting `up` reads for its engine is read here too, from the same variables; a flag wins.
    host: Annotated[str, typer.Option(envvar="ENGINE_HOST", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="ENGINE_PORT", help="Port to listen on.")] = 8288,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            envvar="ENGINE_DATABASE_URL",
            help="sqlite:///path or postgresql://… (default: engine.db in DATA_DIR).",
        ),
    ] = None,
    app: Annotated[list[str] | None, typer.Option("--app", help="App URL to sync at start (repeatable).")] = None,
    event_key: Annotated[
        list[str] | None,
        typer.Option("--event-key", envvar="INNGEST_EVENT_KEY", help="Accepted event key (production)."),
    ] = None,
    signing_key: Annotated[
        str | None,
        typer.Option(
            "--signing-key",
            envvar=["ENGINE_SIGNING_KEY", "INNGEST_SIGNING_KEY"],
            help="signkey-<env>-<hex> (production).",
        ),
    ] = None,
    dev: Annotated[
        bool | None,
        typer.Option("--dev/--no-dev", help="Dev mode: any event key, no signing (default: INNGEST_DEV, on)."),
    ] = None,
    insecure_dev: Annotated[
        bool, typer.Option("--insecure-dev", help="Allow dev mode on a non-loopback --host (trusted networks only).")
    ] = False,
    fast_retries: Annotated[
        bool, typer.Option("--fast-retries", help="Retry after 0.1 s … 2 s (tests, demos).")
    ] = False,
    lease_seconds: Annotated[
        float, typer.Option(help="Queue lease; a dead process's work is taken over after it.")
    ] = 15.0,
    max_event_bytes: Annotated[int, typer.Option(help="Largest accepted event.")] = 256 * 1024,
    max_request_bytes: Annotated[int, typer.Option(help="Largest accepted /e request.")] = 3 * 1024 * 1024,
    log_level: Annotated[str, typer.Option(help="Log level.")] = "info",
) -> None:
    """Run the engine server (default http://127.0.0.1:8288, SQLite file ./.marketing-agent/engine.db)."""
    if ctx.invoked_subcommand is not None:
        return
    try:
        # ENGINE_DATABASE_URL, ENGINE_DASHBOARD_TOKEN, ENGINE_RETENTION_DAYS, ENGINE_FAST_RETRIES come from the
        # environment (EngineConfig.from_env); flags given here win.
        if dev is None:
            dev = os.environ.get("INNGEST_DEV", "1").strip().lower() not in _FALSY
        database_url = db or default_database_url()
        config = EngineConfig.from_env(
            database_url=database_url,
            host=host, port=port, dev=dev, insecure_dev=insecure_dev, event_keys=tuple(event_key or ()),
            signing_key=signing_key or None,
            app_urls=tuple(app or ()), fast_retries=fast_retries or None, lease_seconds=lease_seconds,
            max_event_bytes=max_event_bytes, max_request_bytes=max_request_bytes,
        )  # fmt: skip
    except EngineConfigError as exc:
        _fail(str(exc))
        return
    except ValueError as exc:  # e.g. ENGINE_RETENTION_DAYS that is not a number
        _fail(f"bad engine setting: {exc}")
        return
    if config.database_url.startswith("sqlite:///"):
        os.makedirs(os.path.dirname(os.path.abspath(config.database_url.removeprefix("sqlite:///"))), exist_ok=True)
    import uvicorn

    from .app import create_engine_app

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(log_level.upper())  # also when ``marketing-agent engine`` set logging up first
    if config.dev and insecure_dev:
        warn_insecure_dev(f"engine on {host}:{port}")
    try:
        uvicorn.run(create_engine_app(config), host=host, port=port, log_level=log_level.lower(),
                    access_log=False)  # fmt: skip
    except OSError as exc:
        _fail(f"cannot serve on {host}:{port}: {exc}")


@engine_app.command()
def sync(
    url: Annotated[str, typer.Argument(help="The app's serve URL, e.g. http://127.0.0.1:8000/api/inngest.")],
    engine: Annotated[str, typer.Option(help="The running engine.")] = "http://127.0.0.1:8288",
) -> None:
    """Ask a running engine to sync an app."""
    if not url.startswith(("http://", "https://")):
        _fail("URL must start with http:// or https://")
    headers = {"content-type": "application/json"}
    token = os.environ.get("ENGINE_DASHBOARD_TOKEN")
    if token:  # an engine with a dashboard token guards /v1 (http/guard.py)
        headers["authorization"] = f"Bearer {token}"
    req = urllib.request.Request(  # noqa: S310 (http(s) checked above)
        engine.rstrip("/") + "/v1/apps/sync", data=json.dumps({"url": url}).encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:  # noqa: S310 (http(s) checked above)
            body = json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read()).get("error")
        except ValueError:
            message = str(exc)
        typer.echo(f"error: sync failed: {message}", err=True)
        raise typer.Exit(code=1) from exc
    except (urllib.error.URLError, OSError) as exc:
        _fail(f"engine at {engine} is unreachable: {exc}")
        return
    typer.echo(f"synced app {body['data'].get('app_id')} from {url}")


def main() -> None:  # pragma: no cover - convenience entry point: python -m marketing_agent.engine.cli
    engine_app(prog_name="marketing-agent engine")
    sys.exit(0)


if __name__ == "__main__":  # pragma: no cover
    main()
