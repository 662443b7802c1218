"""The engine's own error root (it imports nothing from the rest of marketing_agent)."""

from __future__ import annotations


class EngineError(Exception):
    """Root of every error the engine raises on purpose."""

    code = "engine_error"
    retryable = False
    status = 500


class EngineConfigError(EngineError):
    code = "config_invalid"
    status = 400


class InvalidRequest(EngineError):
    """Bad input from a client of the engine's HTTP API (events, sync, actions)."""

    code = "invalid_request"
    status = 400


class PayloadTooLarge(InvalidRequest):
    code = "payload_too_large"
    status = 413


class Unauthorized(EngineError):
    code = "unauthorized"
    status = 401


class NotFound(EngineError):
    code = "not_found"
    status = 404


class FunctionConfigInvalid(InvalidRequest):
    code = "function_config_invalid"


class FunctionTaken(InvalidRequest):
    """A registration names a function id that another app registered (it cannot be taken over)."""

    code = "function_taken"
    status = 409


class SyncFailed(EngineError):
    code = "sync_failed"
    retryable = True
    status = 502


class Conflict(EngineError):
    """The action does not apply to the object's current state (e.g. resuming a finished replay)."""

    code = "conflict"
    status = 409
