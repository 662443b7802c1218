"""The one place errors become HTTP: ``marketing_agent.errors`` codes → status codes and the envelope."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from marketing_agent import errors

logger = logging.getLogger(__name__)

_STATUS: list[tuple[type[errors.MarketingAgentError], int]] = [
    (errors.Unauthorized, 401),
    (errors.ValidationFailed, 422),
    (errors.WorkflowInvalid, 422),
    (errors.InvalidStorageKey, 422),
    (errors.NotFound, 404),
    (errors.ObjectNotFound, 404),
    (errors.Conflict, 409),
    (errors.PayloadTooLarge, 413),
    (errors.RateLimited, 429),
    (errors.ServiceUnavailable, 503),
    (errors.StorageError, 503),
]

_HTTP_CODES = {
    400: "VALIDATION_ERROR",
    401: "UNAUTHORIZED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    415: "VALIDATION_ERROR",
    429: "RATE_LIMIT_EXCEEDED",
    503: "SERVICE_UNAVAILABLE",
}


def request_id_of(request: Request) -> str:
    existing = getattr(request.state, "request_id", None)
    if isinstance(existing, str):
        return existing
    new = uuid.uuid4().hex
    request.state.request_id = new
    return new


def error_body(code: str, message: str, *, details: Any = None, request_id: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    if request_id is not None:
        error["requestId"] = request_id
    return {"success": False, "error": error}


_GENERIC_5XX = {503: "a service this request needs is unavailable; retry later", 500: "internal error"}


def error_response(
    status: int, code: str, message: str, *, details: Any = None, request_id: str | None = None
) -> JSONResponse:
    headers = {"X-Request-Id": request_id} if request_id else None
    return JSONResponse(
        error_body(code, message, details=details, request_id=request_id), status_code=status, headers=headers
    )


def status_of(exc: errors.MarketingAgentError) -> int:
    for kind, status in _STATUS:
        if isinstance(exc, kind):
            return status
    return 500


def _field_of(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


async def _app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.MarketingAgentError)
    status = status_of(exc)
    code = exc.code
    if isinstance(exc, errors.InvalidStorageKey):
        code = "VALIDATION_ERROR"  # a bad file path is bad input; the storage code stays in details
    elif isinstance(exc, errors.ObjectNotFound):
        code = "NOT_FOUND"
    elif status == 503:
        code = "SERVICE_UNAVAILABLE"
    request_id = request_id_of(request)
    if status >= 500:
        # The text of a server-side failure (a driver's message, an upstream URL) is for the log, found by
        # the request id; the client gets a stable, generic sentence.
        logger.error("request failed: %s", exc.message, extra={"request_id": request_id, "code": exc.code},
                     exc_info=exc if status == 500 else None)  # fmt: skip
        return error_response(status, code, _GENERIC_5XX.get(status, "internal error"), request_id=request_id)
    response = error_response(status, code, exc.message, details=exc.details, request_id=request_id)
    retry_after = exc.details.get("retryAfter") if isinstance(exc.details, dict) else None
    if status == 429 and isinstance(retry_after, int):
        response.headers["Retry-After"] = str(retry_after)  # and details.retryAfter in the envelope
    return response


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = exc.errors()
    malformed = any(p.get("type") == "json_invalid" for p in problems)
    details = [{"field": _field_of(tuple(p.get("loc", ()))), "message": str(p.get("msg", ""))} for p in problems]
    message = "the body is not valid JSON" if malformed else "the request is not valid"
    return error_response(
        400 if malformed else 422,
        "VALIDATION_ERROR",
        message,
        details=details,
        request_id=request_id_of(request),
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "NOT_FOUND" if exc.status_code == 404 else "VALIDATION_ERROR")
    if exc.status_code >= 500:
        code = "INTERNAL_ERROR"
        message = _GENERIC_5XX.get(exc.status_code, "internal error")
        return error_response(exc.status_code, code, message, request_id=request_id_of(request))
    response = error_response(exc.status_code, code, str(exc.detail), request_id=request_id_of(request))
    # Starlette's own headers go along; a 405 names every method the path has (Allow), as HTTP requires —
    # Starlette's names only the first route's, and GET and POST on one path are two routes here.
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    if exc.status_code == 405:
        response.headers["Allow"] = ", ".join(_allowed_methods(request))
    return response


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _allowed_methods(request: Request) -> list[str]:
    """The methods some route answers on this path: asked of the router itself, one method at a time."""
    routes = request.app.router.routes
    allowed = []
    for method in _METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] is Match.FULL for route in routes):
            allowed.append(method)
    return allowed


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error", exc_info=exc)
    return error_response(500, "INTERNAL_ERROR", "internal error", request_id=request_id_of(request))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(errors.MarketingAgentError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
