"""marketing_agent.engine: a durable execution server for apps written with the Inngest Python SDK.

It speaks the SDK's HTTP protocol (events, sync, step calls) and stores everything in SQLite or PostgreSQL.
It imports nothing else from marketing_agent.
"""

from .app import create_engine_app
from .config import EngineConfig
from .errors import EngineConfigError, EngineError

__all__ = ["EngineConfig", "EngineConfigError", "EngineError", "create_engine_app"]
