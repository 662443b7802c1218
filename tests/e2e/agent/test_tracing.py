"""OpenTelemetry end to end (docs/observability.md): with OTEL_EXPORTER_OTLP_ENDPOINT set, one trace shows the
API's HTTP request → the event sent to the engine → the function run and each step attempt → the SDK app's
handling of each call → the LLM call; a local OTLP/HTTP receiver process records what arrives."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from support.agent_system import AgentSystem, agent_system, system_settings
from support.fake_anthropic import FakeAnthropic, anthropic_error
from support.fake_telegram import FakeTelegram
from support.otlp_receiver import OtlpReceiver

ERROR = 2  # OTLP StatusCode.STATUS_CODE_ERROR


@pytest.fixture
def receiver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[OtlpReceiver]:
    with OtlpReceiver(tmp_path / "spans.jsonl") as rec:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rec.endpoint)
        monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")  # export batches at once, not every 5 s
        yield rec


@pytest.fixture
async def traced(
    tmp_path: Path, receiver: OtlpReceiver, llm: FakeAnthropic, telegram: FakeTelegram
) -> AsyncIterator[AgentSystem]:
    settings = system_settings(tmp_path, f"sqlite:///{tmp_path / 'app.db'}", llm, telegram)
    assert settings.otel_exporter_otlp_endpoint == receiver.endpoint
    async with agent_system(settings, llm, telegram) as running:
        yield running


def _url(span: dict[str, Any]) -> str:
    """An HTTP client span's URL (old or new semantic conventions)."""
    return str(span["attributes"].get("url.full") or span["attributes"].get("http.url") or "")


def _one(spans: list[dict[str, Any]], **match: Any) -> dict[str, Any]:
    found = [s for s in spans if all(s.get(k) == v or s["attributes"].get(k) == v for k, v in match.items())]
    assert len(found) == 1, (match, [s["name"] for s in found])
    return found[0]


async def test_one_trace_from_the_http_request_to_the_llm_call(traced: AgentSystem, receiver: OtlpReceiver) -> None:
    traced.llm.enqueue(anthropic_error(529))  # the first LLM call fails: a second attempt of execute-skill
    run_id = await traced.start_run()
    assert (await traced.wait_run(run_id, timeout=60))["status"] == "completed"
    fn = "marketing-agent-skill-execute"

    def complete(spans: list[dict[str, Any]]) -> bool:
        names = {s["name"] for s in spans}
        return fn in names and len([s for s in spans if _url(s).endswith("/v1/messages")]) == 2

    spans = receiver.wait_for(complete)
    run_span = _one(spans, name=fn)
    trace = [s for s in spans if s["trace_id"] == run_span["trace_id"]]
    by_id = {s["span_id"]: s for s in trace}

    # HTTP request → event: the run span's parent is the API's httpx call to the engine's event API, itself
    # under the API's server span of POST /api/v1/runs.
    send = by_id[run_span["parent_span_id"]]
    assert send["service"] == "marketing-agent"
    assert "/e/" in _url(send)
    request = by_id[send["parent_span_id"]]
    assert request["service"] == "marketing-agent"
    assert request["name"] == "POST /api/v1/runs"
    assert run_span["attributes"]["inngest.run.status"] == "COMPLETED"
    assert run_span["attributes"]["inngest.event.name"] == "skill.execute"

    # Steps: one span per attempt under the run span, with the run, event, retry number and queue delay.
    attempts = [s for s in trace if s["parent_span_id"] == run_span["span_id"]]
    assert all(s["service"] == "marketing-agent-engine" for s in attempts)
    engine_run_id = run_span["attributes"]["inngest.run.id"]
    for s in attempts:
        a = s["attributes"]
        assert (a["inngest.function.id"], a["inngest.run.id"], a["inngest.event.name"]) == (
            fn, engine_run_id, "skill.execute",
        )  # fmt: skip
        assert a["inngest.queue_delay_ms"] >= 0
        assert s["start"] <= s["end"]
    failed = [s for s in attempts if s["status"] == ERROR]
    assert len(failed) == 1
    assert failed[0]["attributes"]["inngest.step"] == "execute-skill"
    assert failed[0]["attributes"]["inngest.attempt"] == 0
    assert "overloaded" in failed[0]["status_message"].lower() or "529" in failed[0]["status_message"]
    retried = [s for s in attempts if s["attributes"]["inngest.step"] == "execute-skill" and s["status"] != ERROR]
    assert [s["attributes"]["inngest.attempt"] for s in retried] == [1]

    # Each engine → app call continues in the app: its server span is a child of the attempt span, and the
    # LLM call (httpx, to the fake Anthropic) sits under the server span of the execute-skill attempts.
    llm_calls = [s for s in trace if _url(s).endswith("/v1/messages")]
    assert len(llm_calls) == 2
    for call in llm_calls:
        server = by_id[call["parent_span_id"]]
        assert server["service"] == "marketing-agent"
        attempt = by_id[server["parent_span_id"]]
        assert attempt in attempts
        assert attempt["attributes"]["inngest.step"] == "execute-skill"
