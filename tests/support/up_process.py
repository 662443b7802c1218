"""``marketing-agent up`` as a real process on free ports and a fresh data folder, for end-to-end tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from support.net import free_port, wait_for_port

#: Variables of the test runner's environment that would steer the process away from its own settings.
_DROPPED_PREFIXES = ("INNGEST_", "DATABASE_", "API_", "ENGINE_")


@dataclass(frozen=True)
class UpProcess:
    api_port: int
    engine_port: int
    key: str  # the API key the first start printed
    log_path: Path
    env: dict[str, str]

    @property
    def api_origin(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def engine_origin(self) -> str:
        return f"http://127.0.0.1:{self.engine_port}"


@contextmanager
def running_up(tmp_path: Path, settings: Mapping[str, str]) -> Iterator[UpProcess]:
    """Start ``up`` with ``settings`` (dev mode unless they say otherwise), wait for both ports and the
    printed key, and stop it afterwards (terminate, then kill)."""
    api_port, engine_port = free_port(), free_port()
    base = {k: v for k, v in os.environ.items() if not k.startswith(_DROPPED_PREFIXES)}
    env = {
        **base,
        "DATA_DIR": str(tmp_path / "data"),
        "API_PORT": str(api_port),
        "ENGINE_PORT": str(engine_port),
        "INNGEST_DEV": "1",
        **settings,
    }
    log_path = tmp_path / "up.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "marketing_agent", "up"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            wait_for_port(api_port, timeout=60)
            wait_for_port(engine_port, timeout=60)
            yield UpProcess(api_port, engine_port, _printed_key(log_path), log_path, env)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def _printed_key(log_path: Path) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for line in log_path.read_text().splitlines():
            if line.strip().startswith("mak_"):
                return line.strip()
        time.sleep(0.1)
    raise AssertionError(f"no API key printed:\n{log_path.read_text()}")
