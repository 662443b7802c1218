"""``python -m marketing_agent`` is ``marketing-agent``."""

from marketing_agent.cli import main

main()
