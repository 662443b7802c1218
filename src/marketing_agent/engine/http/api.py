"""HTTP routes of the engine: the SDK-facing API (``/e``, ``/fn/register``, ``/v0/runs``) and ``/v1`` JSON.

Errors map to HTTP in one place (:func:`_error`): an :class:`EngineError` carries its status and code.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..errors import EngineError, InvalidRequest, NotFound, PayloadTooLarge, Unauthorized
from ..execution.client import hashed_signing_key, strip_key_prefix
from ..service import EngineService

log = logging.getLogger(__name__)

RUN_STATUSES = ("QUEUED", "RUNNING", "COMPLETED", "FAILED", "CANCELLED", "SKIPPED")  # SKIPPED: flow control


RESERVED_EVENT_PREFIX = "inngest/"


def _is_reserved(name: str) -> bool:
    return name.strip().lower().startswith(RESERVED_EVENT_PREFIX)


def _svc(request: Request) -> EngineService:
    svc: EngineService = request.app.state.engine
    return svc


def _error(exc: EngineError) -> JSONResponse:
    return JSONResponse({"error": str(exc), "code": exc.code, "status": exc.status}, status_code=exc.status)


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, separators=(",", ":"), default=str), status_code=status,
                    media_type="application/json")  # fmt: skip


async def _body_json(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested deeper than the parser recurses
        raise InvalidRequest(f"body is not valid JSON: {exc}") from exc


def _check_sdk_auth(request: Request) -> None:
    """Production mode: the SDK authenticates to the API with ``Bearer sha256(signing key)``."""
    svc = _svc(request)
    key = svc.config.signing_key
    if svc.config.dev or not key:
        return
    auth = request.headers.get("authorization", "")
    token = auth.removeprefix("Bearer ").strip()
    token = strip_key_prefix(token)
    # Only the hash: the raw key is a signing secret and never travels as a bearer token.
    if not hmac.compare_digest(token, hashed_signing_key(key)):
        raise Unauthorized("invalid signing key")


# ---- SDK-facing -----------------------------------------------------------------------------------


async def send_events(request: Request) -> Response:
    svc = _svc(request)
    key = request.path_params["key"]
    # Every configured key is compared, each in constant time: the answer's timing says nothing about a key.
    known = [hmac.compare_digest(key.encode(), k.encode()) for k in svc.config.event_keys]
    if not svc.config.dev and not any(known):
        return JSONResponse({"status": 401, "message": "", "error": "Event key not found"}, status_code=401)
    try:
        events = svc.parse_events(await request.body(), request.headers.get("x-inngest-event-id-seed"))
        reserved = [payload["name"] for _id, payload, _user_id in events if _is_reserved(payload["name"])]
        if reserved:  # inngest/function.failed & co. come from the engine only; a fake one would run handlers
            raise InvalidRequest(f"event name {reserved[0]!r} is reserved: {RESERVED_EVENT_PREFIX}* are the engine's")
        # The sender's W3C trace context, kept only when tracing is on (docs/observability.md).
        ids = await svc.send_events(events, request.headers.get("traceparent") if svc.tracer else None)
    except EngineError as exc:
        return JSONResponse({"ids": [], "status": exc.status, "error": str(exc)}, status_code=exc.status)
    return _json({"ids": ids, "status": 200})


async def register(request: Request) -> Response:
    svc = _svc(request)
    try:
        _check_sdk_auth(request)
        expected = request.headers.get("x-inngest-expected-server-kind")
        mine = "dev" if svc.config.dev else "cloud"
        if expected and expected != mine:
            raise InvalidRequest(f"expected server kind {expected}, this engine is {mine}")
        size = len(await request.body())
        if size > svc.config.max_request_bytes:
            raise PayloadTooLarge(f"request is {size} bytes; the limit is {svc.config.max_request_bytes}")
        result = await svc.register(await _body_json(request))
    except EngineError as exc:
        return _error(exc)
    return _json(result)


async def run_batch(request: Request) -> Response:
    svc = _svc(request)
    try:
        _check_sdk_auth(request)
    except EngineError as exc:
        return _error(exc)
    events = await svc.store.run_events(request.path_params["run_id"])
    if events is None:
        return _error(NotFound("run not found"))
    return _json(events)


async def run_actions(request: Request) -> Response:
    svc = _svc(request)
    try:
        _check_sdk_auth(request)
    except EngineError as exc:
        return _error(exc)
    return _json(await svc.store.memos(request.path_params["run_id"]))


async def health(request: Request) -> Response:
    svc = _svc(request)
    try:
        version = await svc.store.schema_version()
    except Exception:  # the database is unreachable; its message (host names, users) is for the log only
        log.exception("health check: the store does not answer")
        return _json({"status": "error", "error": "store unavailable"}, 503)
    return _json({"status": "ok", "schema_version": version, "mode": "dev" if svc.config.dev else "production"})


# ---- /v1 JSON API ---------------------------------------------------------------------------------


def _int(request: Request, name: str, default: int | None = None) -> int | None:
    value = request.query_params.get(name)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise InvalidRequest(f"{name} must be an integer") from exc


async def v1_apps(request: Request) -> Response:
    return _json({"data": await _svc(request).store.list_apps()})


async def v1_app(request: Request) -> Response:
    app = await _svc(request).store.get_app(request.path_params["app_id"])
    if app is None:
        return _error(NotFound("app not found"))
    app["functions"] = await _svc(request).store.list_functions(app_id=app["id"])
    return _json({"data": app})


async def v1_sync(request: Request) -> Response:
    try:
        body = await _body_json(request)
        url = body.get("url") if isinstance(body, dict) else None
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise InvalidRequest("url (http:// or https://) is required")
        result = await _svc(request).sync_app(url)
    except EngineError as exc:
        return _error(exc)
    return _json({"data": result})


async def v1_functions(request: Request) -> Response:
    store = _svc(request).store
    rows = await store.list_functions(
        app_id=request.query_params.get("app_id"), include_inactive=request.query_params.get("all") == "1"
    )
    return _json({"data": rows})


async def v1_function(request: Request) -> Response:
    row = await _svc(request).store.get_function(request.path_params["function_id"])
    if row is None:
        return _error(NotFound("function not found"))
    return _json({"data": row})


async def v1_invoke(request: Request) -> Response:
    try:
        body = await _body_json(request)
        data = body.get("data", {}) if isinstance(body, dict) else {}
        if not isinstance(data, dict):
            raise InvalidRequest("data must be an object")
        run_id = await _svc(request).invoke(request.path_params["function_id"], data)
    except EngineError as exc:
        return _error(exc)
    return _json({"data": {"run_id": run_id}}, 201)


async def v1_runs(request: Request) -> Response:
    try:
        statuses = [s.strip().upper() for s in request.query_params.get("status", "").split(",") if s.strip()]
        bad = [s for s in statuses if s not in RUN_STATUSES]
        if bad:
            raise InvalidRequest(f"unknown status {bad[0]}; use one of {', '.join(RUN_STATUSES)}")
        limit = _int(request, "limit", 50) or 50
        rows = await _svc(request).store.list_runs(
            status=statuses or None, function_id=request.query_params.get("function_id"),
            app_id=request.query_params.get("app_id"), event_id=request.query_params.get("event_id"),
            since=_int(request, "since"), until=_int(request, "until"),
            time_field=request.query_params.get("time_field", "queued_at"),
            cursor=request.query_params.get("cursor"), limit=limit,
        )  # fmt: skip
    except EngineError as exc:
        return _error(exc)
    next_cursor = rows[-1]["id"] if len(rows) == limit else None
    return _json({"data": rows, "next_cursor": next_cursor})


async def v1_run(request: Request) -> Response:
    run = await _svc(request).store.get_run(request.path_params["run_id"])
    if run is None:
        return _error(NotFound("run not found"))
    return _json({"data": run})


async def v1_cancel(request: Request) -> Response:
    try:
        changed = await _svc(request).cancel_run(request.path_params["run_id"])
    except EngineError as exc:
        return _error(exc)
    return _json({"data": {"cancelled": changed}})


async def v1_rerun(request: Request) -> Response:
    try:
        run_id = await _svc(request).rerun(request.path_params["run_id"])
    except EngineError as exc:
        return _error(exc)
    return _json({"data": {"run_id": run_id}}, 201)


async def v1_events(request: Request) -> Response:
    try:
        limit = _int(request, "limit", 50) or 50
        rows = await _svc(request).store.list_events(
            name=request.query_params.get("name"), cursor=request.query_params.get("cursor"), limit=limit,
            since=_int(request, "since"), until=_int(request, "until"),
        )  # fmt: skip
    except EngineError as exc:
        return _error(exc)
    return _json({"data": rows, "next_cursor": rows[-1]["id"] if len(rows) == limit else None})


async def v1_event(request: Request) -> Response:
    row = await _svc(request).store.get_event(request.path_params["event_id"])
    if row is None:
        return _error(NotFound("event not found"))
    return _json({"data": row})


async def v1_send_event(request: Request) -> Response:
    svc = _svc(request)
    try:
        events = svc.parse_events(await request.body(), None)
        ids = await svc.send_events(events)
    except EngineError as exc:
        return _error(exc)
    return _json({"data": {"ids": ids}}, 201)


async def v1_stats(request: Request) -> Response:
    store = _svc(request).store
    counts = {s: await store.count_runs(s) for s in RUN_STATUSES}
    return _json({"data": {"runs": counts, "queue": await store.queue_depth()}})


routes = [
    Route("/e/{key}", send_events, methods=["POST"]),
    Route("/fn/register", register, methods=["POST"]),
    Route("/v0/runs/{run_id}/batch", run_batch, methods=["GET"]),
    Route("/v0/runs/{run_id}/actions", run_actions, methods=["GET"]),
    Route("/health", health, methods=["GET"]),
    Route("/v1/apps", v1_apps, methods=["GET"]),
    Route("/v1/apps/sync", v1_sync, methods=["POST"]),
    Route("/v1/apps/{app_id}", v1_app, methods=["GET"]),
    Route("/v1/functions", v1_functions, methods=["GET"]),
    Route("/v1/functions/{function_id}", v1_function, methods=["GET"]),
    Route("/v1/functions/{function_id}/invoke", v1_invoke, methods=["POST"]),
    Route("/v1/runs", v1_runs, methods=["GET"]),
    Route("/v1/runs/{run_id}", v1_run, methods=["GET"]),
    Route("/v1/runs/{run_id}/cancel", v1_cancel, methods=["POST"]),
    Route("/v1/runs/{run_id}/rerun", v1_rerun, methods=["POST"]),
    Route("/v1/events", v1_events, methods=["GET"]),
    Route("/v1/events", v1_send_event, methods=["POST"]),
    Route("/v1/events/{event_id}", v1_event, methods=["GET"]),
    Route("/v1/stats", v1_stats, methods=["GET"]),
]
