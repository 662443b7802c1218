"""Run the engine for a bench: ``python -m bench.engine_server --port P --db URL [--concurrency N]``.

The same server as ``marketing-agent engine`` (``create_engine_app``) on uvicorn with uvloop and httptools,
with the knobs the CLI does not expose (in-flight step limit) and cron off (no tick lands mid-measurement).
``BENCH_ENGINE_PROFILE=FILE`` profiles it (cProfile).
"""

from __future__ import annotations

import argparse
import cProfile
import logging
import os
import signal
import sys

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
    # BENCH_ENGINE_PROFILE=FILE: cProfile the whole server and write the stats to FILE when it stops
    # (read them with ``python -m pstats FILE``).
    profile_to = os.environ.get("BENCH_ENGINE_PROFILE")
    profiler = cProfile.Profile() if profile_to else None
    if profiler:
        # uvicorn re-raises the SIGTERM it handled once it has shut down; exit through ``finally`` instead
        signal.signal(signal.SIGTERM, lambda *_a: sys.exit(0))
        profiler.enable()
    try:
        uvicorn.run(
            create_engine_app(config),
            host="127.0.0.1",
            port=args.port,
            log_level="warning",
            access_log=False,
            loop="uvloop",
            http="httptools",
        )
    finally:
        if profiler and profile_to:
            profiler.disable()
            profiler.dump_stats(profile_to)


if __name__ == "__main__":
    main()
