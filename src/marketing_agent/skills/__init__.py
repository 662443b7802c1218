"""The built-in marketing skills: one folder per skill (package data), loaded by ``agent.skills``."""
