"""``create_engine_app(config)``: the engine as one ASGI app whose lifespan runs workers, cron and sync."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from .config import EngineConfig
from .dashboard import EngineExtras
from .flow.port import RunStartGate, StepClaimGate
from .http.api import routes
from .http.gql import EngineGraphQL
from .http.guard import InspectionGuard
from .http.mcp import MCP_PATH, EngineMcpEndpoint
from .http.replays import routes as replay_routes
from .http.request_guard import RequestGuard
from .service import EngineService

log = logging.getLogger(__name__)


def create_engine_app(
    config: EngineConfig, *, start_gate: RunStartGate | None = None, claim_gate: StepClaimGate | None = None
) -> Starlette:
    service = EngineService(config, start_gate=start_gate, claim_gate=claim_gate)
    # /metrics, step logs, retention and the dashboard (mounted at "/" last: the JSON API keeps priority).
    extras = EngineExtras(service, config)

    mcp: EngineMcpEndpoint | None = None

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        assert mcp is not None
        await service.start()
        await extras.start()
        log.info("engine started on %s (store %s)", f"{config.host}:{config.port}", config.database_url.split("@")[-1])
        try:
            async with mcp.running():
                yield
        finally:
            await extras.stop()
            await service.stop()

    app = Starlette(
        routes=[
            *routes,
            *replay_routes,
            Route("/v0/gql", EngineGraphQL(service), methods=["GET", "POST"]),
            *extras.routes,
        ],
        lifespan=lifespan,
        # RequestGuard first: Host, Origin, content type and body size, before any credential is looked at.
        middleware=[Middleware(RequestGuard, config=config), Middleware(InspectionGuard, config=config)],
    )
    # The operator's MCP tools (docs/mcp.md): calls to /v1 above, behind the same guard.
    mcp = EngineMcpEndpoint(app)
    app.router.routes.insert(0, Route(MCP_PATH, mcp, methods=["GET", "POST", "DELETE"]))
    app.state.engine = service
    return app
