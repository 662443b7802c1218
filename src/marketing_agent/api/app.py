"""The FastAPI app factory: REST API under ``/api/v1``, ``GET /health``, OpenAPI at ``/docs``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from starlette.routing import Route

from marketing_agent.agent.detect import LLMSkillClassifier, SkillDetector
from marketing_agent.api.context import AppContext
from marketing_agent.api.errors import install_error_handlers
from marketing_agent.api.limits import MAX_BODY_BYTES, BodySizeLimit
from marketing_agent.api.rate_limit import UserRateLimiter
from marketing_agent.api.routes import channels, clients, detect, feedback, outputs, runs, schedules, skills, workflows
from marketing_agent.mcp_server import MCP_PATH, UserMcpEndpoint
from marketing_agent.services import (
    Database,
    EngineRunCanceller,
    EventSender,
    InngestEventSender,
    RunCanceller,
    make_inngest_client,
)
from marketing_agent.settings import Settings
from marketing_agent.storage import ObjectStore, open_object_store
from marketing_agent.telemetry import start_tracing

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v1"

#: Called once with the app and its context to mount more (the Inngest serve endpoint ``/api/inngest``).
AppHook = Callable[[FastAPI, AppContext], object]


def create_api_app(
    settings: Settings,
    *,
    database: Database | None = None,
    store: ObjectStore | None = None,
    event_sender: EventSender | None = None,
    run_canceller: RunCanceller | None = None,
    skill_detector: SkillDetector | None = None,
    mount_functions: AppHook | None = None,
    extra_routers: Sequence[APIRouter] = (),
    max_body_bytes: int = MAX_BODY_BYTES,
) -> FastAPI:
    """Build the API. Anything not given is built from ``settings``; what the factory built it also closes.

    ``mount_functions`` mounts the durable functions' serve endpoint (``/api/inngest``), e.g. a hook that
    calls ``marketing_agent.functions.serve_functions``; ``extra_routers`` are included as they are (the
    bot's ``POST /api/v1/webhooks/telegram``).
    """
    owns_database = database is None
    owns_detector = skill_detector is None
    context = AppContext(
        settings=settings,
        database=database or Database(settings.resolved_database_url),
        store=store or open_object_store(settings),
        events=event_sender or InngestEventSender(make_inngest_client(settings)),
        canceller=run_canceller or EngineRunCanceller(settings),
        # The model step's provider is made on first use, so an API that never needs it loads nothing.
        detector=skill_detector or SkillDetector(LLMSkillClassifier.from_settings(settings)),
    )

    mcp: UserMcpEndpoint | None = None
    # OpenTelemetry (docs/observability.md): a server span per request, client spans for httpx; off when unset.
    tracing = start_tracing(settings.otel_exporter_otlp_endpoint)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        assert mcp is not None
        try:
            async with mcp.running():
                yield
        finally:
            if tracing is not None:
                tracing.stop()
        if owns_detector:
            await context.detector.aclose()
        if owns_database:
            await context.database.dispose()

    app = FastAPI(
        title="marketing-agent",
        summary="Run an LLM marketing agent's skills as durable background jobs.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    app.state.context = context
    app.state.rate_limiter = UserRateLimiter(settings.api_rate_limit_per_minute)
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)
    if tracing is not None:  # outermost: the span covers the whole request, the traceparent is read first
        from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

        app.add_middleware(OpenTelemetryMiddleware, tracer_provider=tracing.provider)

    @app.get("/health", tags=["health"])
    async def health() -> JSONResponse:
        """Answers ``{"status": "ok"}`` once the database answers (no auth)."""
        try:
            await context.database.ping()
        except Exception as exc:  # any database failure means "not ready"
            logger.warning("health check failed", extra={"error": type(exc).__name__})
            return JSONResponse({"status": "unavailable", "reason": "database unreachable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    for module in (skills, clients, runs, detect, outputs, feedback, channels, workflows, schedules):
        app.include_router(module.router, prefix=API_PREFIX)
    # MCP over Streamable HTTP (docs/mcp.md): the same API, as tools for AI assistants.
    mcp = UserMcpEndpoint(app, context.database, settings.api_url)
    app.router.routes.append(Route(MCP_PATH, mcp, methods=["GET", "POST", "DELETE"], include_in_schema=False))
    for router in extra_routers:
        app.include_router(router)
    if mount_functions is not None:
        mount_functions(app, context)
    return app
