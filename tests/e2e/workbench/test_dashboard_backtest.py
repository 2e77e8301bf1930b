"""The backtest view in a real browser against the real app over stored data (see
tests/fixtures/workbench.py): a strategy's Backtest button runs it over the last 24
hours; the answer's alerts are drawn as markers on the window's candles, with the summary
per horizon, each alert's forward returns and the holes in the window's data; its
condition is checked as it is typed, and a refused request names the field.

With TICKHUB_UPDATE_SCREENSHOT=1 the screenshot of the whole page (every panel filled,
an alert in the feed) replaces the README's (docs/dashboard.png); otherwise it goes to
the test's temporary directory."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

from playwright.async_api import expect

from tests.fixtures.accounts import signup
from tests.fixtures.chromium import README_SCREENSHOT
from tests.fixtures.workbench import (
    EMAIL,
    HISTORY_MIN,
    Dashboard,
    scanner_at_the_end,
    sign_in,
)


async def test_the_backtest_view_draws_the_alerts_on_the_candles_with_the_summary(
    dashboard: Dashboard, tmp_path: Path
) -> None:
    user = await signup(dashboard.http, EMAIL)
    r = await dashboard.http.post(
        "/v1/strategies",
        json={
            "name": "Above the average",
            "instruments": ["binance:BTCUSDT"],
            "interval": "1m",
            "condition": "close > sma(close, 10)",
            "cooldown_s": 1800,
        },
        headers=user.headers,
    )
    assert r.status_code == 201, r.text
    strategy = r.json()
    page = await dashboard.page()
    await sign_in(page, user)
    row = page.locator(f"#strategies tr[data-strategy-id='{strategy['id']}']")
    async with page.expect_response("**/v1/strategies/backtest") as answered:
        await row.locator("button.backtest").click()
    response = await answered.value
    assert response.status == 200, await response.text()
    answer: dict[str, Any] = await response.json()

    result = page.locator("#backtest-result")
    await expect(result).to_have_attribute("data-state", "ready")
    alerts = answer["alerts"]
    assert alerts, answer  # the waves cross their average many times in six hours
    chart = page.locator("#backtest-chart")
    assert await chart.get_attribute("data-markers") == str(len(alerts))
    starts = [int(datetime.fromisoformat(a["candle_start"]).timestamp()) for a in alerts]
    assert (await chart.get_attribute("data-marker-times") or "").split(",") == [
        str(s) for s in sorted(starts)
    ]
    assert int(await chart.get_attribute("data-candles") or 0) == HISTORY_MIN
    assert await page.locator("#backtest-chart canvas").count() > 0

    # the summary: a row per horizon, as the answer gives it
    summary_rows = page.locator("#backtest-summary tbody tr")
    await expect(summary_rows).to_have_count(4)
    assert await summary_rows.evaluate_all("rs => rs.map(r => r.dataset.horizon)") == [
        "1", "5", "15", "60",
    ]  # fmt: skip
    assert f"{len(alerts)} alert(s)" in await page.locator("#backtest-status").inner_text()
    assert await page.locator("#backtest-alerts tbody tr").count() == len(alerts)

    notes = page.locator("#backtest-summary .coverage-note")
    await expect(notes).to_have_count(1)  # six hours of history in a 24-hour window
    assert "360 of 1440 candles" in await notes.inner_text()

    # for the README: the page with an alert in the feed as well
    await expect(page.locator("#alerts-feed")).to_have_attribute("data-state", "live")
    async with scanner_at_the_end(dashboard.runtime):
        await expect(page.locator("#alerts-list li[data-source=stream]")).to_have_count(1)
    update = os.environ.get("TICKHUB_UPDATE_SCREENSHOT") == "1"
    screenshot = README_SCREENSHOT if update else tmp_path / "dashboard.png"
    await page.evaluate("window.scrollTo(0, 0)")
    await page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.stat().st_size > 0

    # the condition, filled from the strategy, is checked like the strategy form's
    check = page.locator("#backtest-condition-check")
    await expect(check).to_have_attribute("data-state", "ok")
    await page.locator("#backtest-form textarea[name=condition]").fill("close > sma(close, )")
    await expect(check).to_have_attribute("data-state", "error")
    await expect(check.locator("mark")).to_have_count(1)
    await page.locator("#backtest-form textarea[name=condition]").fill("close > sma(close, 10)")
    await expect(check).to_have_attribute("data-state", "ok")

    # bad input: the answer names the field, and the view shows it there
    await page.locator("#backtest-form input[name=horizons]").fill("1, 0")
    await page.locator("#backtest-form button[type=submit]").click()
    await expect(result).to_have_attribute("data-state", "error")
    await expect(page.locator("#backtest-error")).to_contain_text("horizons")
    await expect(page.locator("#backtest-form input[name=horizons]")).to_have_attribute(
        "aria-invalid", "true"
    )
