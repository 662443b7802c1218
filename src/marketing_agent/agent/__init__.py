"""marketing_agent.agent."""
