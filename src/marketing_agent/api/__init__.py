"""The REST API (FastAPI): app factory, routes, auth, schemas and the error → HTTP mapping."""

from marketing_agent.api.app import API_PREFIX, AppHook, create_api_app
from marketing_agent.api.context import AppContext

__all__ = ["API_PREFIX", "AppContext", "AppHook", "create_api_app"]
