"""Screenshots of browser tests: ``test-artifacts/browser/<name>.png`` at the repository root (gitignored)."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Page

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"


async def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path
