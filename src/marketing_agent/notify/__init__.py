"""marketing_agent.notify."""
