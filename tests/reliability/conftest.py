"""Reliability harness fixtures. The long versions (marker ``reliability``) run only when asked for:
``make test-reliability`` (``-m reliability``); a plain ``pytest`` run keeps the short versions."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.fake_anthropic import FakeAnthropic


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "reliability" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="long reliability version: run make test-reliability")
    for item in items:
        if item.get_closest_marker("reliability") is not None:
            item.add_marker(skip)


@pytest.fixture
def fake_llm() -> Iterator[FakeAnthropic]:
    with FakeAnthropic(api_key="test-key", default_text="# Homepage\n\nHeadline.\n\nBody copy.\n") as server:
        yield server
