"""``marketing-agent engine`` alone reads the settings ``up`` reads for its engine (issue 17: ENGINE_PORT was
ignored, it listened on 8288, and its database landed in the current folder whatever DATA_DIR said)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from support.net import free_port, wait_for_port

CLI = [sys.executable, "-m", "marketing_agent"]


def _engine(env: dict[str, str], cwd: Path, *args: str) -> subprocess.Popen[bytes]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ENGINE_", "DATA_DIR", "INNGEST_"))}
    return subprocess.Popen(
        [*CLI, "engine", *args], env={**clean, **env}, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(timeout=20)


def test_engine_port_host_and_data_dir_come_from_the_environment(tmp_path: Path) -> None:
    port = free_port()
    data_dir = tmp_path / "data"
    proc = _engine({"ENGINE_PORT": str(port), "ENGINE_HOST": "127.0.0.1", "DATA_DIR": str(data_dir)}, tmp_path)
    try:
        wait_for_port(port, timeout=60)
        assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=10).status_code == 200
    finally:
        _stop(proc)
    assert (data_dir / "engine.db").exists()
    assert not (tmp_path / ".marketing-agent").exists()  # not in the current folder


def test_a_flag_wins_over_the_environment(tmp_path: Path) -> None:
    env_port, flag_port = free_port(), free_port()
    proc = _engine(
        {"ENGINE_PORT": str(env_port), "DATA_DIR": str(tmp_path / "data")}, tmp_path, "--port", str(flag_port)
    )
    try:
        wait_for_port(flag_port, timeout=60)
        assert httpx.get(f"http://127.0.0.1:{flag_port}/health", timeout=10).status_code == 200
    finally:
        _stop(proc)
