"""Run the engine for a bench: ``python -m bench.engine_server --port P --db URL [--concurrency N]``.

The same server as ``marketing-agent engine`` (``create_engine_app``) on uvicorn with uvloop and httptools,
with the knobs the CLI does not expose (in-flight step limit) and cron off (no tick lands mid-measurement).
"""

from __future__ import annotations

import argparse
import logging

import uvicorn

from marketing_agent.engine import EngineConfig, create_engine_app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--app", action="append", default=[])
    args = parser.parse_args()
    config = EngineConfig(
        database_url=args.db,
        port=args.port,
        max_concurrency=args.concurrency,
        cron=False,
        app_urls=tuple(args.app),
        fast_retries=True,
    )
    logging.basicConfig(level=logging.WARNING)
    uvicorn.run(
        create_engine_app(config),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
        loop="uvloop",
        http="httptools",
    )


if __name__ == "__main__":
    main()
