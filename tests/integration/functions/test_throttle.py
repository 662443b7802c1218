"""skill-execute's throttle on the real engine: one user's excess runs wait, then run; other users do not wait.

``Throttle(limit=10, period=1 min, key=event.data.userId)`` with the SDK's default burst of 1: 11 runs
start at once, the next one 6 s later (docs/functions.md, docs/flow-control.md).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from marketing_agent.functions import FunctionDeps, SkillOutcome
from marketing_agent.functions.adapters import ChannelNotifications, DatabaseRunServices
from marketing_agent.notify import NotifierRegistry
from marketing_agent.services import Database, InMemoryEventSender, User, create_run, create_user
from marketing_agent.settings import Settings
from marketing_agent.storage import MemoryObjectStore
from support.function_fakes import ScriptedExecutor
from support.function_stack import Stack, function_stack

pytestmark = pytest.mark.slow

OUTCOME = SkillOutcome(output="# Ok\n\nok", title="Ok", tokens_in=1, tokens_out=1, cost_usd=0.0, model="m")


@pytest.fixture
async def stack(db: Database, tmp_path: Path) -> AsyncIterator[Stack]:
    base = Settings(_env_file=None)  # type: ignore[call-arg]

    def build(settings: Settings) -> FunctionDeps:
        return FunctionDeps(
            settings=settings,
            services=DatabaseRunServices(db, settings),
            store=MemoryObjectStore(),
            execute=ScriptedExecutor(script=[OUTCOME]),
            notifications=ChannelNotifications(settings, db, NotifierRegistry({})),
        )

    async with function_stack(tmp_path, build, base) as running:
        yield running


async def queue_runs(stack: Stack, db: Database, user: User, count: int) -> None:
    for i in range(count):
        events = InMemoryEventSender()
        await create_run(db, events, user.id, skill_name="copywriting", message=f"run {i}")
        [event] = events.sent
        await stack.send(event.name, event.data)


@pytest.mark.parametrize("database_kind", ["sqlite"], indirect=True)
async def test_one_users_excess_runs_wait_and_others_do_not(stack: Stack, db: Database, user: User) -> None:
    other = (await create_user(db, "bob@example.com")).user
    await queue_runs(stack, db, user, 12)
    await queue_runs(stack, db, other, 1)
    runs = await stack.wait_for_runs("skill-execute", count=13, timeout=60)
    assert {r["status"] for r in runs} == {"COMPLETED"}

    def started(owner: User) -> list[int]:
        mine = [r for r in runs if r["events"][0]["data"]["userId"] == str(owner.id)]
        return sorted(int(r["started_at"]) for r in mine)

    first, *rest = started(user)
    waited = [t - first for t in rest]
    assert max(waited[:10]) < 2_000  # 11 at once (limit 10 + burst 1)
    assert waited[10] >= 5_000  # the 12th waited for the next slot (one every 6 s)
    [bobs] = started(other)
    assert bobs - first < 2_000  # another user's run is not held back
