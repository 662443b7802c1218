"""One error root for the whole project (the engine has its own, it imports nothing from here).

Every error carries a stable ``code`` and whether retrying could help (``retryable``). HTTP mapping lives
in ``marketing_agent.api`` only.
"""

from __future__ import annotations

from typing import Any, ClassVar


class MarketingAgentError(Exception):
    code: ClassVar[str] = "INTERNAL_ERROR"
    retryable: ClassVar[bool] = False

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


# --- configuration ---------------------------------------------------------------------------------
class ConfigError(MarketingAgentError):
    code = "CONFIG_ERROR"


# --- input and lookup ------------------------------------------------------------------------------
class ValidationFailed(MarketingAgentError):
    code = "VALIDATION_ERROR"


class SkillNotDetected(ValidationFailed):
    """``"skillName": "auto"`` and no skill is confident; ``details`` carries the candidates to offer."""

    code = "SKILL_NOT_DETECTED"


class NotFound(MarketingAgentError):
    code = "NOT_FOUND"


class SkillNotFound(NotFound):
    code = "SKILL_NOT_FOUND"


class ClientNotFound(NotFound):
    code = "CLIENT_NOT_FOUND"


class RunNotFound(NotFound):
    code = "RUN_NOT_FOUND"


class OutputNotFound(NotFound):
    code = "OUTPUT_NOT_FOUND"


class WorkflowNotFound(NotFound):
    code = "WORKFLOW_NOT_FOUND"


class WorkflowRunNotFound(NotFound):
    code = "WORKFLOW_RUN_NOT_FOUND"


class ScheduleNotFound(NotFound):
    code = "SCHEDULE_NOT_FOUND"


class Conflict(MarketingAgentError):
    code = "CONFLICT"


class Unauthorized(MarketingAgentError):
    code = "UNAUTHORIZED"


class MissingAuthHeader(Unauthorized):
    code = "MISSING_AUTH_HEADER"


class InvalidApiKey(Unauthorized):
    code = "INVALID_API_KEY"


class PayloadTooLarge(MarketingAgentError):
    code = "PAYLOAD_TOO_LARGE"


class RateLimited(MarketingAgentError):
    code = "RATE_LIMIT_EXCEEDED"
    retryable = True


class ServiceUnavailable(MarketingAgentError):
    code = "SERVICE_UNAVAILABLE"
    retryable = True


# --- storage ---------------------------------------------------------------------------------------
class StorageError(MarketingAgentError):
    code = "STORAGE_ERROR"
    retryable = True


class InvalidStorageKey(StorageError):
    code = "INVALID_STORAGE_KEY"
    retryable = False


class ObjectNotFound(StorageError):
    code = "OBJECT_NOT_FOUND"
    retryable = False


# --- workflows -------------------------------------------------------------------------------------
class WorkflowInvalid(MarketingAgentError):
    """A workflow definition that cannot run: unknown skill, cycle, missing input, bad field."""

    code = "WORKFLOW_INVALID"


# --- the agent -------------------------------------------------------------------------------------
class SkillInvalid(MarketingAgentError):
    code = "SKILL_INVALID"


class ClientContextMissing(MarketingAgentError):
    """The client has no ``profile.md``: retrying cannot fix it."""

    code = "CLIENT_CONTEXT_MISSING"


class LLMError(MarketingAgentError):
    """A provider call failed. Subclasses say whether the engine should retry."""

    code = "LLM_ERROR"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after_seconds: float | None = None,
        details: Any = None,
    ) -> None:
        super().__init__(message, details=details)
        self.status = status
        #: The provider's ``Retry-After`` when it sent one, so the engine can wait at least that long.
        self.retry_after_seconds = retry_after_seconds


class LLMRetryableError(LLMError):
    code = "LLM_RETRYABLE"
    retryable = True


class LLMRateLimited(LLMRetryableError):
    code = "LLM_RATE_LIMITED"


class LLMOverloaded(LLMRetryableError):
    code = "LLM_OVERLOADED"


class LLMUnavailable(LLMRetryableError):
    """5xx, timeouts and connection errors."""

    code = "LLM_UNAVAILABLE"


class LLMFatalError(LLMError):
    """400, 401, 403, 404, context overflow: retrying will not help."""

    code = "LLM_FATAL"


class LLMNotConfigured(LLMFatalError):
    code = "LLM_NOT_CONFIGURED"


# --- notifications ---------------------------------------------------------------------------------
class NotificationError(MarketingAgentError):
    code = "NOTIFICATION_FAILED"
    retryable = True


class NotificationRejected(NotificationError):
    """The channel refused the message for good (chat not found, bot blocked, bad address): no retry."""

    code = "NOTIFICATION_REJECTED"
    retryable = False


# --- the agent loop --------------------------------------------------------------------------------
class RunLimitReached(MarketingAgentError):
    """A skill run hit its cost or token budget before the model finished (docs/agent-loop.md)."""

    code = "RUN_LIMIT_REACHED"
