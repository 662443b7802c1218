"""marketing_agent.bot."""
