"""Browser fixtures: Debian's Chromium driven by Playwright, and the dashboard stack it looks at.

Never ``playwright install``: the system's ``/usr/bin/chromium`` is launched (CI installs it when missing),
with a fresh profile per test. Screenshots go to ``test-artifacts/browser/`` at the repository root.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, Page, async_playwright

from integration.dashboard.dashboard_stack import DashStack, dashboard_stack

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run",
]  # fmt: skip


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[DashStack]:
    async with dashboard_stack(tmp_path) as s:
        yield s


@pytest.fixture
async def context(tmp_path: Path) -> AsyncIterator[BrowserContext]:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        if os.environ.get("CI"):
            pytest.fail(f"Chromium is required in CI but {CHROMIUM} is missing")
        pytest.skip(f"no Chromium at {CHROMIUM}")
    profile = tmp_path / "chromium-profile"
    async with async_playwright() as pw:
        ctx = await pw.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True,
            viewport={"width": 1280, "height": 900},
        )  # fmt: skip
        ctx.set_default_timeout(15_000)
        try:
            yield ctx
        finally:
            await ctx.close()


@pytest.fixture
async def page(context: BrowserContext) -> Page:
    return context.pages[0] if context.pages else await context.new_page()
