"""marketing_agent.storage."""
