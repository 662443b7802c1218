"""marketing_agent.engine."""
