"""MCP (Model Context Protocol) servers: the user's skills and runs as tools for AI assistants.

``/mcp`` on the API (Streamable HTTP, the user's API key) and ``marketing-agent mcp`` (stdio, for desktop
assistants) serve the same tools; both reach the data only through ``/api/v1``. See ``docs/mcp.md``.
"""

from marketing_agent.mcp_server._api import MarketingApi
from marketing_agent.mcp_server.http import MCP_PATH, UserMcpEndpoint
from marketing_agent.mcp_server.user import MAX_WAIT_SECONDS, build_user_server

__all__ = ["MAX_WAIT_SECONDS", "MCP_PATH", "MarketingApi", "UserMcpEndpoint", "build_user_server"]
