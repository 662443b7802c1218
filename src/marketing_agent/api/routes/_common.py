"""Shared route bits: pagination parameters and error documentation for OpenAPI."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query

from marketing_agent.api.schemas import ErrorEnvelope

Limit = Annotated[int, Query(ge=1, le=100, description="Page size (1-100).")]
# Bounded so a huge number is a 422, not an integer overflow in the database driver.
MAX_OFFSET = 1_000_000_000
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip.")]

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorEnvelope, "description": "VALIDATION_ERROR: the body is not valid JSON"},
    401: {"model": ErrorEnvelope, "description": "MISSING_AUTH_HEADER, UNAUTHORIZED or INVALID_API_KEY"},
    404: {"model": ErrorEnvelope, "description": "Not found (also another user's resource)"},
    413: {"model": ErrorEnvelope, "description": "PAYLOAD_TOO_LARGE: the body is over the size limit"},
    422: {"model": ErrorEnvelope, "description": "VALIDATION_ERROR"},
}
