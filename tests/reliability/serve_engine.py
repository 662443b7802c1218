"""``marketing-agent engine`` with an explicit retry schedule: ``python serve_engine.py --port P --db URL``.

The CLI's ``--fast-retries`` (0.1 s, 0.2 s, 0.4 s…) spends a run's 3 retries in 0.7 s, and a connection
refused by the app counts as an attempt (as in Inngest), so an API process that takes a few seconds to come
back after a SIGKILL (10-20 s on a loaded 2-core machine) would fail the runs it was serving. The default
schedule here (2 s, 8 s, 20 s: 30 s in all for skill-execute's 3 retries) still ends in seconds, but outlasts
a restart.
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
    parser.add_argument("--app", action="append", default=[])
    parser.add_argument("--backoff", default="2,8,20,30", help="seconds before each retry, comma-separated")
    parser.add_argument("--event-key", action="append", default=[])
    parser.add_argument("--signing-key")
    args = parser.parse_args()
    config = EngineConfig(
        database_url=args.db,
        port=args.port,
        app_urls=tuple(args.app),
        backoff_table=tuple(float(s) for s in args.backoff.split(",")),
        dev=not args.event_key,
        event_keys=tuple(args.event_key),
        signing_key=args.signing_key,
        cron=False,
        lease_seconds=3.0,
    )
    logging.basicConfig(level=logging.WARNING)
    uvicorn.run(create_engine_app(config), host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
