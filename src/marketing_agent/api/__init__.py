"""marketing_agent.api."""
