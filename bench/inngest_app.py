"""The pipeline as an Inngest SDK app (FastAPI, served at ``/api/inngest``): 8 ``step.run`` calls.

Run by the bench as ``uvicorn --factory bench.inngest_app:create`` (uvloop + httptools), with
``BENCH_ENGINE_URL``
pointing at the engine, and by the protocol-ceiling driver with no engine at all.
"""

from __future__ import annotations

import logging
import os
import warnings
from typing import Any

import inngest
from fastapi import FastAPI
from pydantic.warnings import PydanticDeprecatedSince20

from bench import workload

APP_ID = "bench"
FUNCTION_ID = "pipeline"
EVENT_NAME = "bench/pipeline"


def build_app(engine_url: str) -> FastAPI:
    client = inngest.Inngest(
        app_id=APP_ID,
        is_production=False,
        api_base_url=engine_url,
        event_api_base_url=engine_url,
        logger=logging.getLogger("bench.inngest"),
    )

    @client.create_function(fn_id=FUNCTION_ID, retries=0, trigger=inngest.TriggerEvent(event=EVENT_NAME))
    async def pipeline(ctx: inngest.Context) -> Any:
        run_id = str(ctx.event.data["run"])
        previous: Any = None
        for index, name in enumerate(workload.STEP_NAMES):
            previous = await ctx.step.run(name, workload.astep, index, run_id, previous)
        return previous

    app = FastAPI()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PydanticDeprecatedSince20)
        from inngest import fast_api
    fast_api.serve(app, client, [pipeline], serve_path="/api/inngest")
    return app


def create() -> FastAPI:
    """The uvicorn factory (``uvicorn --factory bench.inngest_app:create``)."""
    return build_app(os.environ.get("BENCH_ENGINE_URL", "http://127.0.0.1:8288"))
