"""The API with the durable functions mounted at ``/api/inngest``, configured from the environment.

What ``marketing-agent api`` serves once it mounts the functions; the harness runs this file while the CLI
does not (see ``harness.api_command``). Run as ``python serve_api.py`` with the usual settings variables.
"""

from __future__ import annotations

import logging

import uvicorn

from marketing_agent.api import create_api_app
from marketing_agent.functions.wiring import FunctionsMount
from marketing_agent.settings import load_settings


def main() -> None:
    settings = load_settings()
    logging.basicConfig(level=logging.WARNING)
    app = create_api_app(settings, mount_functions=FunctionsMount())
    uvicorn.run(app, host=settings.api_host, port=settings.api_port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
