"""The engine's dashboard: a Starlette sub-app built by :func:`create_dashboard_app`, mounted at ``/``.

It reads only through the engine's query API (``Store`` read methods and ``store/inspect.py``) and acts only
through :class:`EngineService` (sync, invoke, send, cancel, rerun, replays), like saq's web UI over its queue.
:class:`EngineExtras` bundles what ``create_engine_app`` adds beside the JSON API: ``/metrics``, the step-log
endpoint, the dashboard mount and the retention task.
"""

from __future__ import annotations

import logging
from pathlib import Path

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from ..config import EngineConfig
from ..http.metrics import MetricsEndpoint
from ..http.step_logs import StepLogsEndpoint
from ..service import EngineService
from .pages import Pages
from .render import make_env
from .replays import ReplayPages
from .retention import Retention

__all__ = ["EngineExtras", "create_dashboard_app"]

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).parent / "static"


def create_dashboard_app(service: EngineService, config: EngineConfig) -> ASGIApp:
    pages = Pages(service, config, make_env())
    g = pages.guard
    replays = ReplayPages(pages)
    routes: list[BaseRoute] = [
        Route("/", g(pages.overview), methods=["GET"]),
        Route("/apps", g(pages.apps), methods=["GET"]),
        Route("/apps/sync", g(pages.sync_app), methods=["POST"]),
        Route("/functions", g(pages.functions), methods=["GET"]),
        Route("/functions/{function_id}", g(pages.function), methods=["GET"]),
        Route("/functions/{function_id}/invoke", g(pages.invoke), methods=["POST"]),
        Route("/runs", g(pages.runs), methods=["GET"]),
        Route("/runs/{run_id}", g(pages.run), methods=["GET"]),
        Route("/runs/{run_id}/cancel", g(pages.cancel), methods=["POST"]),
        Route("/runs/{run_id}/rerun", g(pages.rerun), methods=["POST"]),
        Route("/events", g(pages.events), methods=["GET"]),
        Route("/events/send", g(pages.send_event), methods=["POST"]),
        Route("/events/{event_id}", g(pages.event), methods=["GET"]),
        Route("/replays", g(replays.list), methods=["GET"]),
        Route("/replays", g(replays.create), methods=["POST"]),
        Route("/replays/{replay_id}", g(replays.show), methods=["GET"]),
        Route("/replays/{replay_id}/{action}", g(replays.act), methods=["POST"]),
        Route("/login", pages.login_form, methods=["GET"]),
        Route("/login", pages.login, methods=["POST"]),
        Route("/logout", pages.logout, methods=["POST"]),
        Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    return Starlette(routes=routes)


class EngineExtras:
    """Routes and background work the dashboard issue adds to the engine app (mounted after the JSON API)."""

    def __init__(self, service: EngineService, config: EngineConfig) -> None:
        self.service = service
        self.config = config
        self.metrics = MetricsEndpoint(service, config)
        self.retention = Retention(service, config)
        logs = StepLogsEndpoint(service, config)
        self.routes: list[BaseRoute] = [
            Route("/metrics", self.metrics.handle, methods=["GET"]),
            Route("/v1/runs/{run_id}/logs", logs.handle, methods=["POST"]),
            Mount("/", app=create_dashboard_app(service, config)),
        ]

    async def start(self) -> None:
        """After ``EngineService.start`` (whose store migrations created the step-log table)."""
        self.metrics.reset_cursor()
        self.retention.start()

    async def stop(self) -> None:
        await self.retention.stop()
