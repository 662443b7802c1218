"""``marketing-agent engine replay …``: start, watch and steer bulk replays on a running engine (``/v1/replays``)."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from typing import Annotated, Any

import typer

from ._duration import duration_ms
from ._ids import now_ms

replay_app = typer.Typer(help="Re-run the failed or cancelled runs of a function (after an outage).")

EngineOpt = Annotated[str, typer.Option(help="The running engine.")]
DEFAULT_ENGINE = "http://127.0.0.1:8288"
_DONE = ("COMPLETED", "CANCELLED")


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=code)


def _call(engine: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    if not engine.startswith(("http://", "https://")):
        _fail("--engine must start with http:// or https://")
    headers = {"content-type": "application/json"}
    token = os.environ.get("ENGINE_DASHBOARD_TOKEN")
    if token:  # an engine with a dashboard token guards /v1 (http/guard.py)
        headers["authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else (b"{}" if method == "POST" else None)
    req = urllib.request.Request(engine.rstrip("/") + path, data=data, headers=headers, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:  # noqa: S310 (http(s) checked above)
            return json.loads(resp.read())["data"]
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read()).get("error")
        except ValueError:
            message = str(exc)
        _fail(str(message), code=2 if exc.code < 500 else 1)
    except (urllib.error.URLError, OSError) as exc:
        _fail(f"engine at {engine} is unreachable: {exc}")
    return None


def _time_arg(value: str, name: str) -> int | str:
    """``1h`` / ``90m`` (that long ago) or an ISO-8601 time (passed through; the engine parses it)."""
    try:
        ago = duration_ms(value)
    except ValueError:
        ago = None
    if ago is not None:
        return now_ms() - ago
    if value[:1].isdigit() and "-" in value:
        return value
    _fail(f"--{name} must be a duration such as 1h or 30m, or an ISO-8601 time, not {value!r}")
    return value


def _line(r: dict[str, Any]) -> str:
    p = r["progress"]
    return (
        f"{r['id']}  {r['status']:<9}  {r['function_id']}  matched {p['matched']}  started {p['started']}"
        f"  done {p['done']} (completed {p['completed']}, failed {p['failed']})"
    )


@replay_app.command("start")
def start(
    function_id: Annotated[str, typer.Argument(help="Function id, e.g. marketing-agent-skill-execute.")],
    since: Annotated[str, typer.Option(help="Start of the range: a duration ago (1h, 30m) or ISO-8601.")],
    until: Annotated[str | None, typer.Option(help="End of the range (default: now).")] = None,
    status: Annotated[str, typer.Option(help="Run statuses to replay: failed, cancelled or both.")] = (
        "failed,cancelled"
    ),
    filter_expr: Annotated[
        str | None, typer.Option("--filter", help="CEL over the event, e.g. event.data.userId == 'u1'.")
    ] = None,
    rate: Annotated[float, typer.Option(help="Runs started per second.")] = 10.0,
    wait: Annotated[bool, typer.Option("--wait", help="Print progress until the replay ends.")] = False,
    engine: EngineOpt = DEFAULT_ENGINE,
) -> None:
    """Replay the failed/cancelled runs of FUNCTION_ID queued in the range."""
    body: dict[str, Any] = {
        "function_id": function_id,
        "statuses": [s.strip() for s in status.split(",") if s.strip()],
        "since": _time_arg(since, "since"),
        "rate": rate,
    }
    if until is not None:
        body["until"] = _time_arg(until, "until")
    if filter_expr is not None:
        body["filter"] = filter_expr
    replay = _call(engine, "POST", "/v1/replays", body)
    typer.echo(_line(replay))
    while wait and replay["status"] not in _DONE:
        time.sleep(1.0)
        replay = _call(engine, "GET", f"/v1/replays/{replay['id']}")
        typer.echo(_line(replay))


@replay_app.command("list")
def list_replays(engine: EngineOpt = DEFAULT_ENGINE) -> None:
    """The latest replays, newest first."""
    for r in _call(engine, "GET", "/v1/replays"):
        typer.echo(_line(r))


@replay_app.command("show")
def show(replay_id: str, engine: EngineOpt = DEFAULT_ENGINE) -> None:
    """One replay: its progress and the first original → replayed run pairs."""
    r = _call(engine, "GET", f"/v1/replays/{replay_id}")
    typer.echo(_line(r))
    for pair in r.get("runs", []):
        typer.echo(f"  {pair['original_run_id']} → {pair['run_id'] or '-'} {pair['status'] or ''}".rstrip())


def _action(name: str) -> None:
    @replay_app.command(name, help=f"{name.capitalize()} a replay.")
    def act(replay_id: str, engine: EngineOpt = DEFAULT_ENGINE) -> None:
        typer.echo(_line(_call(engine, "POST", f"/v1/replays/{replay_id}/{name}")))


for _name in ("pause", "resume", "cancel"):
    _action(_name)
