"""marketing-agent: an LLM marketing agent's skills as reliable background jobs."""

__version__ = "0.1.0"
