"""``marketing-agent schedules list|add|rm``: cron schedules, through the running API.

Registered on the main app by ``marketing_agent.cli`` (this module reuses its API client and ``fail``).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from marketing_agent.cli import ApiClient, ApiKey, ApiUrl, console, fail

schedules_app = typer.Typer(
    help="Cron schedules that start a skill run or a workflow (through the API).", no_args_is_help=True
)


def _inputs(pairs: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            fail(f"--input takes NAME=VALUE, got {pair!r}")
        values[name.strip()] = value
    return values


@schedules_app.command("list")
def schedules_list(api_url: ApiUrl = None, api_key: ApiKey = None) -> None:
    """Your schedules, with their next fire time and last runs."""
    data = ApiClient(api_url, api_key).call("GET", "/schedules")
    if not data["schedules"]:
        console.print("no schedules")
    # One line each, not a table: ids stay whole and greppable at any terminal width.
    for s in data["schedules"]:
        what = f"skill {s['skillName']}" if s["kind"] == "skill" else f"workflow {s['workflow']}"
        when = "paused" if s["paused"] else f"next {s['nextFireAt']}"
        last = ", ".join(
            str(f.get("runId") or f.get("workflowRunId") or f"error: {f.get('errorMessage')}") for f in s["lastRuns"]
        )
        line = f"{s['id']}  {what}  '{s['cron']}' {s['timezone']}  {when}"
        console.print(line + (f"  last runs: {last}" if last else ""), markup=False, soft_wrap=True)


@schedules_app.command("add")
def schedules_add(
    cron: Annotated[str, typer.Option("--cron", help='Five fields, e.g. "0 9 * * 1" (Mondays 09:00).')],
    timezone: Annotated[str, typer.Option("--timezone", help="IANA zone, e.g. Europe/Berlin.")] = "UTC",
    skill: Annotated[str | None, typer.Option("--skill", help="Run this skill (with --message).")] = None,
    message: Annotated[str | None, typer.Option("--message", help="The skill's message.")] = None,
    workflow: Annotated[str | None, typer.Option("--workflow", help="Start this workflow (with --input).")] = None,
    inputs: Annotated[list[str] | None, typer.Option("--input", help="A workflow input, NAME=VALUE (repeat).")] = None,
    client: Annotated[str | None, typer.Option("--client", help="The client's slug.")] = None,
    api_url: ApiUrl = None,
    api_key: ApiKey = None,
) -> None:
    """Add a schedule: a skill with a message, or a workflow with inputs."""
    if (skill is None) == (workflow is None):
        fail("give --skill (with --message) or --workflow (with --input NAME=VALUE)")
    if skill is not None and not message:
        fail("--skill needs --message")
    if skill is not None and inputs:
        fail("--input goes with --workflow")
    if workflow is not None and message is not None:
        fail("--message goes with --skill; a workflow takes --input NAME=VALUE")
    api = ApiClient(api_url, api_key)
    body: dict[str, Any] = {"cron": cron, "timezone": timezone}
    if skill is not None:
        body |= {"skillName": skill, "message": message}
    else:
        body |= {"workflow": workflow, "inputs": _inputs(inputs or [])}
    if client is not None:
        body["clientId"] = api.client_id(client)
    created = api.call("POST", "/schedules", json=body)
    console.print(f"schedule {created['id']} added; next fire {created['nextFireAt']}", markup=False)


@schedules_app.command("rm")
def schedules_rm(
    schedule_id: Annotated[str, typer.Argument(help="The schedule's id (see `schedules list`).")],
    api_url: ApiUrl = None,
    api_key: ApiKey = None,
) -> None:
    """Delete a schedule (runs it already started are kept)."""
    ApiClient(api_url, api_key).call("DELETE", f"/schedules/{schedule_id}")
    console.print(f"schedule {schedule_id} removed", markup=False)


__all__ = ["schedules_app"]
