"""Database restart: PostgreSQL (app database and engine store) is restarted while 200 skill runs are in
flight; the engine and the API reconnect by themselves and every accepted run completes exactly once.

Long version only, and only where the server is local and restartable with ``pg_ctlcluster`` (it briefly
takes the whole server down, so it never runs inside ``make test``). ``RELIABILITY_POSTGRES_URL`` picks the
server (default ``TEST_POSTGRES_URL`` or 127.0.0.1:5432); the cluster is the one listening on its port.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest

from reliability.harness import (
    Submitter,
    System,
    assert_exactly_once,
    output_run_ids,
    wait_until_settled,
)
from reliability.test_crash import wait_for_function
from support.fake_anthropic import FakeAnthropic

ADMIN_URL = os.environ.get(
    "RELIABILITY_POSTGRES_URL",
    os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
)


def local_cluster() -> tuple[str, str] | None:
    """(version, name) of the local cluster serving ADMIN_URL, when pg_ctlcluster can restart it."""
    parts = urlsplit(ADMIN_URL)
    if parts.hostname not in ("127.0.0.1", "localhost") or shutil.which("pg_ctlcluster") is None:
        return None
    listing = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=False)
    for line in listing.stdout.splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[2] == str(parts.port or 5432) and fields[3] == "online":
            return fields[0], fields[1]
    return None


def restart_postgres(cluster: tuple[str, str]) -> None:
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", *cluster, "restart"],
        check=True,
        capture_output=True,
        timeout=120,
    )


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(ADMIN_URL, timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextmanager
def scratch_database(prefix: str) -> Iterator[str]:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.mark.reliability
@pytest.mark.postgres
@pytest.mark.timeout(1200)
def test_postgres_restart_under_200_runs(tmp_path: Path, fake_llm: FakeAnthropic) -> None:
    cluster = local_cluster()
    if cluster is None:
        pytest.skip(f"no local PostgreSQL cluster restartable with pg_ctlcluster serves {ADMIN_URL}")
    with scratch_database("rel_app") as app_url, scratch_database("rel_engine") as engine_url:
        asyncio.run(_scenario(tmp_path, fake_llm, cluster, app_url, engine_url, runs=200))


async def _scenario(
    tmp_path: Path, llm: FakeAnthropic, cluster: tuple[str, str], app_url: str, engine_url: str, *, runs: int
) -> None:
    system = System(root=tmp_path, llm_origin=llm.origin, app_database_url=app_url, engine_database_url=engine_url)
    keys = await system.prepare(users=(runs + 9) // 10)  # 10 starts a minute per user: no run waits
    rng = random.Random(15)
    try:
        system.start_api()
        system.start_engine()
        await wait_for_function(system)
        submitter = Submitter(system, keys)
        async with httpx.AsyncClient(timeout=60) as http:
            late = await submitter.submit_half_then_trickle(http, runs, rng, max_gap=0.05)
            await asyncio.sleep(0.5)
            await asyncio.to_thread(restart_postgres, cluster)
            await late
        views = await wait_until_settled(system, submitter.accepted, timeout=600)
        assert system.engine is not None
        assert system.api is not None
        assert system.engine.poll() is None, "the engine died with the database"
        assert system.api.poll() is None, "the API died with the database"
        rows = await output_run_ids(app_url)
        assert_exactly_once(system, views, rows)
        assert not submitter.unexpected, f"answers outside the contract: {submitter.unexpected[:5]}"
    finally:
        system.stop()
