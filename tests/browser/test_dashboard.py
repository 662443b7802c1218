"""The dashboard in a real headless Chromium, against a real engine and SDK app."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from browser.artifacts import screenshot
from integration.dashboard.dashboard_stack import DashStack, dashboard_stack

pytestmark = pytest.mark.browser


async def test_runs_list_shows_runs_with_their_status(stack: DashStack, page: Page) -> None:
    done = await stack.start("demo/hello", {"name": "ada"}, ("COMPLETED",))
    await page.goto(f"{stack.engine_url}/runs")
    row = page.locator(f'tr[data-run-id="{done["run"]["id"]}"]')
    await expect(row).to_have_attribute("data-status", "completed")
    await expect(row.locator(".badge")).to_have_text("completed")
    # Auto-refresh: a run started after the page loaded appears without a reload.
    later = await stack.start("demo/sleep", {}, ("WAITING",))
    await expect(page.locator(f'tr[data-run-id="{later["run"]["id"]}"]')).to_have_attribute(
        "data-status", "waiting", timeout=10_000
    )
    await screenshot(page, "runs-list")
    # A phone: no sideways scrolling.
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.reload()
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    await screenshot(page, "runs-list-phone")


async def test_failing_run_shows_attempts_and_error(stack: DashStack, page: Page) -> None:
    failed = await stack.start("demo/fail", {}, ("FAILED",))
    run_id = failed["run"]["id"]
    await page.goto(f"{stack.engine_url}/runs?status=failed")
    await page.click(f'tr[data-run-id="{run_id}"] a')
    await expect(page).to_have_url(f"{stack.engine_url}/runs/{run_id}")
    await expect(page.locator("#run-status .badge")).to_have_text("failed")
    await expect(page.locator("#run-error")).to_contain_text("ValueError: the widget broke")
    step = page.locator('article.step[data-step="boom"]')
    await expect(step.locator("tr.attempt")).to_have_count(2)
    await expect(step.locator("tr.attempt").first).to_contain_text("the widget broke")
    await expect(step.locator(".logs")).to_contain_text("about to break, attempt 1", timeout=10_000)
    await screenshot(page, "failed-run")
    await page.click("nav >> text=Overview")
    await expect(page.locator("#failure-rate")).to_contain_text("100.0 %")
    await expect(page.locator(f'a[href="/runs/{run_id}"]')).to_be_visible()
    await screenshot(page, "overview")


async def test_send_event_from_the_form_starts_a_run(stack: DashStack, page: Page) -> None:
    await page.goto(f"{stack.engine_url}/events")
    await page.click("#send-event summary")
    await page.fill('#send-event input[name="name"]', "demo/hello")
    await page.fill('#send-event textarea[name="data"]', "{not json")
    await page.click('#send-event button[type="submit"]')
    # The progressive layer refuses invalid JSON before sending.
    await expect(page).to_have_url(f"{stack.engine_url}/events")
    await page.fill('#send-event textarea[name="data"]', '{"name": "from the browser"}')
    await page.click('#send-event button[type="submit"]')
    await expect(page.locator(".flash.ok")).to_have_text("Sent demo/hello")
    await page.click("a.run-link >> nth=0")
    await expect(page.locator("#run-status .badge")).to_have_text("completed", timeout=15_000)
    await expect(page.locator("#run-output")).to_contain_text("hello from the browser")
    await screenshot(page, "sent-event-run")
    await page.goto(f"{stack.engine_url}/events")
    await screenshot(page, "events")
    await page.goto(f"{stack.engine_url}/functions/{stack.fn('explode')}")
    await expect(page.locator("h1")).to_contain_text("explode")
    await screenshot(page, "function")


async def test_cancel_a_sleeping_run(stack: DashStack, page: Page) -> None:
    sleeping = await stack.start("demo/sleep", {}, ("WAITING",))
    run_id = sleeping["run"]["id"]
    await page.goto(f"{stack.engine_url}/runs/{run_id}")
    await expect(page.locator("#run-status .badge")).to_have_text("waiting")
    await expect(page.locator('article.step[data-step="nap"]')).to_contain_text("Sleeps until")
    page.once("dialog", lambda dialog: dialog.accept())
    await page.click("button.danger")
    await expect(page.locator(".flash.ok")).to_have_text("Cancelled")
    await expect(page.locator("#run-status .badge")).to_have_text("cancelled")
    await expect(page.locator("button.danger")).to_have_count(0)
    await page.goto(f"{stack.engine_url}/runs")
    await expect(page.locator(f'tr[data-run-id="{run_id}"]')).to_have_attribute("data-status", "cancelled")
    await screenshot(page, "cancelled-run")


async def test_login_with_the_dashboard_token(tmp_path: Path, page: Page) -> None:
    async with dashboard_stack(tmp_path, dashboard_token="browser-token") as stack:
        await page.goto(f"{stack.engine_url}/runs?status=failed")
        await expect(page).to_have_url(f"{stack.engine_url}/login?next=/runs%3Fstatus%3Dfailed")
        await page.fill('input[name="token"]', "wrong")
        await page.click('button[type="submit"]')
        await expect(page.locator(".flash.err")).to_have_text("That token is not right.")
        await page.fill('input[name="token"]', "browser-token")
        await page.click('button[type="submit"]')
        await expect(page).to_have_url(f"{stack.engine_url}/runs?status=failed")
        await expect(page.locator("h1")).to_have_text("Runs")
        await screenshot(page, "after-login")
        await page.click("text=Log out")
        await expect(page).to_have_url(f"{stack.engine_url}/login")
