"""The agent loop through ``marketing-agent up`` as a user runs it, and ``marketing-agent run --follow``
printing each tool call as it happens: seo-audit fetches a loopback website through the fake Anthropic."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.fake_anthropic import FakeAnthropic
from support.fake_llm_server import FakeReply, RecordedRequest
from support.loopback_site import LoopbackSite
from support.up_process import running_up

pytestmark = pytest.mark.slow


@pytest.fixture
def site() -> Iterator[LoopbackSite]:
    with LoopbackSite("127.0.0.2") as running:
        yield running


def test_up_runs_the_loop_and_follow_prints_tool_calls(tmp_path: Path, llm: FakeAnthropic, site: LoopbackSite) -> None:
    def answer(request: RecordedRequest) -> FakeReply:
        turns = sum(1 for m in request.json["messages"] if m["role"] == "assistant")
        if turns == 0:
            return FakeReply(text="", tool_calls=({"name": "web_fetch", "input": {"url": site.url("/")}},))
        if turns == 1:
            return FakeReply(
                text="", tool_calls=({"name": "web_fetch", "input": {"url": site.url("/private/report")}},)
            )
        return FakeReply(text=f"# SEO audit: Acme\n\n## Summary\n\nClear title ([source]({site.url('/')})).\n")

    llm.responder = answer
    settings = {
        "LLM_PROVIDER": "anthropic",
        "ANTHROPIC_API_KEY": llm.api_key,
        "ANTHROPIC_BASE_URL": llm.base_url,
        "WEB_FETCH_ALLOW_HOSTS": "127.0.0.2",
    }
    with running_up(tmp_path, settings) as up:
        follow = subprocess.run(
            [
                sys.executable,
                "-m",
                "marketing_agent",
                "run",
                "seo-audit",
                f"Audit {site.url('/')}",
                "--follow",
                "--poll",
                "0.2",
                "--api-url",
                up.api_origin,
                "--api-key",
                up.key,
                "--engine-url",
                up.engine_origin,
            ],
            env={**up.env, "COLUMNS": "250"},  # one step a line: no wrapping of long URLs
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    out = follow.stdout
    assert follow.returncode == 0, out + follow.stderr
    assert f"step tool-1-web_fetch: completed — web_fetch {site.url('/')}: ok, HTTP 200, " in out
    assert f"step tool-2-web_fetch: completed — web_fetch {site.url('/private/report')}: error" in out
    assert "disallowed by" in out  # robots.txt, reported to the model as a tool error
    assert "step llm-turn-3: completed" in out
    assert "Clear title" in out
