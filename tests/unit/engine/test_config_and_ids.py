from __future__ import annotations

import base64

import pytest

from marketing_agent.engine import EngineConfig, EngineConfigError
from marketing_agent.engine._ids import seeded_event_ids


def test_defaults_are_dev_sqlite() -> None:
    cfg = EngineConfig()
    assert cfg.dev
    assert cfg.database_url.startswith("sqlite:")
    assert cfg.port == 8288
    assert cfg.backoff[0][0] == 15


def test_fast_retries_schedule() -> None:
    assert EngineConfig(fast_retries=True).backoff[0][0] < 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"database_url": "mysql://x"},
        {"port": 0},
        {"signing_key": "nope"},
        {"dev": False},  # production needs an event key
    ],
)
def test_bad_config_is_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(EngineConfigError):
        EngineConfig(**kwargs)  # type: ignore[arg-type]


def test_production_config() -> None:
    cfg = EngineConfig(dev=False, event_keys=("k",), signing_key="signkey-prod-abcd")
    assert not cfg.dev


def test_seeded_ids_are_stable_and_distinct() -> None:
    seed = f"1700000000000,{base64.b64encode(bytes(range(10))).decode()}"
    first = seeded_event_ids(seed, 3)
    assert first == seeded_event_ids(seed, 3)
    assert len(set(first)) == 3
    assert all(len(i) == 26 for i in first)


def test_bad_seed_falls_back_to_random() -> None:
    a, b = seeded_event_ids("garbage", 1), seeded_event_ids("garbage", 1)
    assert a != b
