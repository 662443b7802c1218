"""marketing_agent.services."""
