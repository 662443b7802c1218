"""Apps, their functions and cron schedules."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from .._ids import new_ulid, now_ms
from .._json import dumps
from ..errors import FunctionTaken
from .connections import Conn, Database


class AppOps(Database):
    # ---- apps and functions -----------------------------------------------------------------------

    async def save_app(
        self,
        app_id: str,
        url: str,
        payload: dict[str, Any],
        functions: Sequence[tuple[str, str, dict[str, Any]]],
        checksum: str,
    ) -> bool:
        """Store an app and its functions (id, name, config). Functions no longer present become inactive.

        Returns True when the config changed.
        """
        now = now_ms()
        async with self.transaction() as tx:
            for fid, _name, _cfg in functions:  # a function id belongs to the app that registered it first
                owner = await tx.fetchrow("SELECT app_id FROM functions WHERE id = ?", fid)
                if owner is not None and owner["app_id"] != app_id:
                    raise FunctionTaken(f"function {fid} belongs to app {owner['app_id']}, not {app_id}")
            old = await tx.fetchrow("SELECT checksum FROM apps WHERE id = ?", app_id)
            modified = old is None or old["checksum"] != checksum
            await tx.execute(
                "INSERT INTO apps (id, url, sdk, framework, config, checksum, error, created_at, synced_at)"
                " VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?) ON CONFLICT (id) DO UPDATE SET url = excluded.url,"
                " sdk = excluded.sdk, framework = excluded.framework, config = excluded.config,"
                " checksum = excluded.checksum, error = NULL, synced_at = excluded.synced_at",
                app_id, url, str(payload.get("sdk") or ""), str(payload.get("framework") or ""),
                dumps({k: v for k, v in payload.items() if k != "functions"}), checksum, now, now,
            )  # fmt: skip
            await tx.execute("UPDATE functions SET active = 0, updated_at = ? WHERE app_id = ?", now, app_id)
            for fid, name, cfg in functions:
                await tx.execute(
                    "INSERT INTO functions (id, app_id, name, config, active, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, 1, ?, ?) ON CONFLICT (id) DO UPDATE SET"
                    " name = excluded.name, config = excluded.config, active = 1, updated_at = excluded.updated_at",
                    fid, app_id, name, dumps(cfg), now, now,
                )  # fmt: skip
            await self._bump_functions_version(tx)
        return modified

    async def record_app_error(self, url: str, app_id: str | None, error: str) -> None:
        async with self.transaction() as tx:
            if app_id:
                await tx.execute("UPDATE apps SET error = ? WHERE id = ?", error, app_id)
            else:
                await tx.execute("UPDATE apps SET error = ? WHERE url = ?", error, url)

    async def _bump_functions_version(self, tx: Conn) -> None:
        await tx.execute(
            "INSERT INTO engine_meta (key, value) VALUES ('functions_version', ?) ON CONFLICT (key) DO UPDATE"
            " SET value = excluded.value",
            new_ulid(),
        )

    async def functions_version(self) -> str:
        async with self._read() as c:
            row = await c.fetchrow("SELECT value FROM engine_meta WHERE key = 'functions_version'")
        return row["value"] if row else ""

    async def active_functions(self) -> list[dict[str, Any]]:
        async with self._read() as c:
            rows = await c.fetch(
                "SELECT f.id, f.app_id, f.name, f.config, a.url AS app_url FROM functions f"
                " JOIN apps a ON a.id = f.app_id WHERE f.active = 1"
            )
        for r in rows:
            r["config"] = json.loads(r["config"])
        return rows

    # ---- crons ------------------------------------------------------------------------------------

    async def sync_crons(self, wanted: dict[tuple[str, str], int]) -> None:
        """Make ``crons`` hold exactly ``wanted`` ((function id, expression) → first fire time)."""
        async with self.transaction() as tx:
            rows = await tx.fetch("SELECT function_id, expression FROM crons")
            have = {(r["function_id"], r["expression"]) for r in rows}
            for key in have - wanted.keys():
                await tx.execute("DELETE FROM crons WHERE function_id = ? AND expression = ?", *key)
            for key in wanted.keys() - have:
                await tx.execute(
                    "INSERT INTO crons (function_id, expression, next_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                    key[0], key[1], wanted[key],
                )  # fmt: skip

    async def due_crons(self, now: int) -> list[dict[str, Any]]:
        async with self._read() as c:
            return await c.fetch("SELECT function_id, expression, next_at FROM crons WHERE next_at <= ?", now)

    async def next_cron(self) -> int | None:
        async with self._read() as c:
            row = await c.fetchrow("SELECT MIN(next_at) AS t FROM crons")
        return int(row["t"]) if row and row["t"] is not None else None

    async def advance_cron(self, tx: Conn, function_id: str, expression: str, old: int, new: int) -> bool:
        """Move a cron to its next fire time; False when another process already did (so it must not fire)."""
        n = await tx.execute(
            "UPDATE crons SET next_at = ? WHERE function_id = ? AND expression = ? AND next_at = ?",
            new, function_id, expression, old,
        )  # fmt: skip
        return n == 1
