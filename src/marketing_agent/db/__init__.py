"""marketing_agent.db."""
