"""marketing_agent.functions."""
