"""Build the four functions from one set of dependencies and serve them from a FastAPI app."""

from __future__ import annotations

import warnings
from typing import Any

import inngest
from fastapi import FastAPI
from pydantic.warnings import PydanticDeprecatedSince20

from marketing_agent.functions.deps import FunctionDeps
from marketing_agent.functions.feedback_process import build_feedback_process
from marketing_agent.functions.monitor_executions import build_monitor_executions
from marketing_agent.functions.notify_completion import build_notify_completion
from marketing_agent.functions.schedules import build_schedule_functions
from marketing_agent.functions.serve_guard import ServeGuard
from marketing_agent.functions.skill_execute import build_skill_execute
from marketing_agent.functions.step_logs import StepLogMiddleware
from marketing_agent.functions.workflow_run import build_workflow_run

SERVE_PATH = "/api/inngest"


def build_functions(client: inngest.Inngest, deps: FunctionDeps) -> list[inngest.Function[Any]]:
    """The app's functions, closed over ``deps`` (no module-level state, so tests can build many).

    The workflow and schedule functions come with ``deps.workflows`` (always, outside unit tests).
    """
    skill_execute = build_skill_execute(client, deps)
    functions = [
        skill_execute,
        build_feedback_process(client, deps),
        build_notify_completion(client, deps),
        build_monitor_executions(client, deps),
    ]
    if deps.workflows is not None:
        functions.append(build_workflow_run(client, deps, skill_execute))
        functions.extend(build_schedule_functions(client, deps))
    return functions


def serve_functions(
    app: FastAPI, deps: FunctionDeps, client: inngest.Inngest | None = None
) -> list[inngest.Function[Any]]:
    """Mount the Inngest serve endpoint (``GET|PUT|POST /api/inngest``) on ``app``.

    ``client`` defaults to the app's one client (``services.make_inngest_client``), pointed at our engine
    or at Inngest Cloud by the settings; the functions send their events through it.
    """
    if client is None:
        from marketing_agent.services import make_inngest_client

        client = make_inngest_client(deps.settings)
    if StepLogMiddleware not in client.middleware:
        # Ship each step's log lines to the engine's run page (best effort; never fails a step).
        client.add_middleware(StepLogMiddleware)
    functions = build_functions(client, deps)
    with warnings.catch_warnings():
        # inngest 0.5.19's FastAPI glue declares a pydantic model with a class-based config; the warning it
        # raises at import is the SDK's, not ours, and would fail a run with warnings as errors.
        warnings.simplefilter("ignore", PydanticDeprecatedSince20)
        import inngest.fast_api
    inngest.fast_api.serve(app, client, functions, serve_path=SERVE_PATH)
    app.add_middleware(ServeGuard, path=SERVE_PATH, signed=bool(client.is_production and client.signing_key))
    return functions
