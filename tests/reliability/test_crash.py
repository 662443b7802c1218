"""Crash: skill runs in flight while the engine and the API are SIGKILLed at random moments and restarted.

Every run the API accepted (202) must complete, with exactly one output row and one output file; none lost,
none doubled. Runs refused while a process was down (connection refused, or 503 when the engine did not
take the event) are not accepted, and the client submits them again, as a real client would.
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

import httpx
import pytest

from reliability.harness import (
    Submitter,
    System,
    assert_exactly_once,
    output_run_ids,
    wait_until_settled,
)
from support.fake_anthropic import FakeAnthropic

SKILL_FUNCTION = "marketing-agent-skill-execute"


async def wait_for_function(system: System, timeout: float = 60.0) -> None:
    """The engine synced the app (at start it retries until the API answers)."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=10) as http:
        while time.monotonic() < deadline:
            try:
                reply = await http.get(f"{system.engine_url}/v1/functions")
                if reply.status_code == 200 and any(f["id"] == SKILL_FUNCTION for f in reply.json()["data"]):
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError(f"the engine never registered {SKILL_FUNCTION}\n{system.logs()}")


async def probe_event_api(
    http: httpx.AsyncClient, system: System, acknowledged: list[str], stop: asyncio.Event
) -> None:
    """Send events straight to the engine's event API through the kills; keep the ids it answered 200 for."""
    sent = 0
    while not stop.is_set():
        sent += 1
        try:
            reply = await http.post(
                f"{system.engine_url}/e/any", json={"name": "reliability/probe", "data": {"n": sent}}, timeout=5
            )
        except httpx.TransportError:
            reply = None  # the engine is down: nothing was acknowledged
        if reply is not None and reply.status_code == 200:
            acknowledged.extend(reply.json()["ids"])
        await asyncio.sleep(0.05)


async def assert_events_kept(http: httpx.AsyncClient, system: System, acknowledged: list[str]) -> None:
    """Every event the engine answered 200 for survived the kills."""
    assert len(acknowledged) > 10, "the probe never reached the engine"
    lost = [i for i in acknowledged if (await http.get(f"{system.engine_url}/v1/events/{i}")).status_code != 200]
    assert not lost, f"{len(lost)} of {len(acknowledged)} acknowledged events are gone: {lost[:5]}"


async def crash_scenario(
    tmp_path: Path,
    llm: FakeAnthropic,
    *,
    runs: int,
    engine_kills: int,
    api_kills: int,
    seed: int,
    settle_timeout: float,
    use_cli: bool = False,
) -> System:
    # skill-execute is throttled to 10 starts a minute per user: spread the runs so none waits a minute
    users = max(1, (runs + 9) // 10)
    system = System(
        root=tmp_path,
        llm_origin=llm.origin,
        app_database_url=f"sqlite:///{tmp_path / 'app.db'}",
        engine_database_url=f"sqlite:///{tmp_path / 'engine.db'}",
        use_cli=use_cli,
    )
    keys = await system.prepare(users)
    rng = random.Random(seed)
    try:
        system.start_api()
        system.start_engine()
        await wait_for_function(system)
        submitter = Submitter(system, keys)
        async with httpx.AsyncClient(timeout=60) as http:
            late = await submitter.submit_half_then_trickle(http, runs, rng, max_gap=0.15)
            stop_probing = asyncio.Event()
            acknowledged: list[str] = []
            probes = asyncio.create_task(probe_event_api(http, system, acknowledged, stop_probing))
            plan = ["engine"] * engine_kills + ["api"] * api_kills
            rng.shuffle(plan)
            for name in plan:
                await asyncio.sleep(rng.uniform(0.2, 1.5))
                await asyncio.to_thread(system.restart, name)
            await late
            stop_probing.set()
            await probes
            await assert_events_kept(http, system, acknowledged)
        assert len(submitter.accepted) == runs
        views = await wait_until_settled(system, submitter.accepted, timeout=settle_timeout)
        rows = await output_run_ids(system.settings().resolved_database_url)
        assert_exactly_once(system, views, rows)
        assert not submitter.unexpected, f"answers outside the contract: {submitter.unexpected[:5]}"
        assert system.restarts == {"engine": engine_kills, "api": api_kills}
        return system
    finally:
        system.stop()


@pytest.mark.slow
@pytest.mark.timeout(150)
async def test_short_crash_engine_twice_api_once(tmp_path: Path, fake_llm: FakeAnthropic) -> None:
    await crash_scenario(tmp_path, fake_llm, runs=20, engine_kills=2, api_kills=1, seed=8, settle_timeout=90)


@pytest.mark.reliability
@pytest.mark.timeout(1200)
async def test_crash_200_runs_engine_10_times_api_5_times(tmp_path: Path, fake_llm: FakeAnthropic) -> None:
    await crash_scenario(tmp_path, fake_llm, runs=200, engine_kills=10, api_kills=5, seed=2026, settle_timeout=600)
