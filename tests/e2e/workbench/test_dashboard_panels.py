"""The dashboard's panels in a real browser against the real app over stored data (see
tests/fixtures/workbench.py):

- the market panel: the stored listings by rank, the latest global metrics, dominance
  over time; public, while the signed-in panels stay hidden;
- strategies: the condition checked as it is typed (an error and where, then the
  canonical reading), created, edited (a refused edit names the field) and switched off
  and on, as the API then holds it;
- alerts: one raised by the scanner arrives over /v1/alerts/stream with its values;
- every panel fits a narrow screen."""

from __future__ import annotations

from datetime import UTC, datetime

from playwright.async_api import expect

from tests.fixtures.accounts import signup
from tests.fixtures.workbench import (
    CMC_MIN,
    EMAIL,
    END_S,
    LISTINGS,
    Dashboard,
    btc_dominance,
    scanner_at_the_end,
    sign_in,
)


async def test_the_market_panel_shows_the_stored_listings_and_dominance(
    dashboard: Dashboard,
) -> None:
    page = await dashboard.page()
    # public: shown signed out, while the panels of a signed-in user stay hidden
    for panel in ("#strategies-panel", "#alerts-panel", "#backtest-panel"):
        await expect(page.locator(panel)).to_be_hidden()
    await page.click("#signin-link")  # leads to the sign-in form
    await expect(page.locator("#signin input[name=email]")).to_be_focused()

    listings = page.locator("#listings")
    await expect(listings).to_have_attribute("data-state", "ready")
    rows = page.locator("#listings tbody tr")
    await expect(rows).to_have_count(len(LISTINGS))
    assert await rows.evaluate_all("rs => rs.map(r => r.dataset.symbol)") == [
        c.symbol for c in LISTINGS
    ]
    first = await rows.first.inner_text()
    assert "Bitcoin" in first and "30,500.00 USD" in first and "600.00 B" in first

    latest = (await dashboard.http.get("/v1/global-metrics")).json()
    figures = page.locator("#global-metrics")
    await expect(figures).to_have_attribute("data-state", "ready")
    assert (
        float(await figures.get_attribute("data-btc-dominance") or "nan") == latest["btc_dominance"]
    )
    assert f"{latest['btc_dominance']:.2f}%" in await figures.inner_text()
    assert btc_dominance(CMC_MIN - 1) == latest["btc_dominance"]

    # dominance over time: every stored minute of the last 24 hours
    chart = page.locator("#dominance-chart")
    await expect(chart).to_have_attribute("data-state", "ready")
    assert await chart.get_attribute("data-points") == str(CMC_MIN)
    assert await page.locator("#dominance-chart canvas").count() > 0
    await page.select_option("#dominance-range", "21600")
    await expect(chart).to_have_attribute("data-points", str(CMC_MIN))


async def test_strategies_are_checked_as_typed_created_edited_and_switched(
    dashboard: Dashboard,
) -> None:
    user = await signup(dashboard.http, EMAIL)
    page = await dashboard.page()
    await sign_in(page, user)
    await expect(page.locator("#strategies")).to_have_attribute("data-count", "0")

    form = page.locator("#strategy-form")
    check = page.locator("#condition-check")
    condition = form.locator("textarea[name=condition]")
    # a condition that does not parse: the error says where, as it is typed
    await condition.press_sequentially("close > sma(close, 10) and")
    await expect(check).to_have_attribute("data-state", "error")
    await expect(condition).to_have_attribute("aria-invalid", "true")
    assert "at character" in await check.inner_text()
    await expect(check.locator("mark")).to_have_count(1)
    # completed, it reads as the canonical form
    await condition.press_sequentially(" rsi(14) > 50")
    await expect(check).to_have_attribute("data-state", "ok")
    await expect(condition).to_have_attribute("aria-invalid", "false")
    expected = (
        await dashboard.http.post(
            "/v1/strategies/check",
            json={"condition": "close > sma(close, 10) and rsi(14) > 50"},
            headers=user.headers,
        )
    ).json()
    assert expected["canonical"] in await check.inner_text()

    # created
    await form.locator("input[name=name]").fill("Climb")
    await form.locator("input[name=instruments]").fill("binance:BTCUSDT")
    await form.locator("select[name=interval]").select_option("1m")
    await form.locator("button[type=submit]").click()
    await expect(page.locator("#strategies")).to_have_attribute("data-count", "1")
    (stored,) = (await dashboard.http.get("/v1/strategies", headers=user.headers)).json()["items"]
    assert (stored["name"], stored["instruments"], stored["interval"], stored["active"]) == (
        "Climb", ["binance:BTCUSDT"], "1m", True,
    )  # fmt: skip
    assert stored["condition"] == "close > sma(close, 10) and rsi(14) > 50"
    row = page.locator(f"#strategies tr[data-strategy-id='{stored['id']}']")
    await expect(row).to_have_attribute("data-active", "true")

    # edited: a bad name is refused naming the field, then a good edit is saved
    await row.locator("button.edit").click()
    await expect(form).to_have_attribute("data-mode", "edit")
    await expect(condition).to_have_value(stored["condition"])
    await form.locator("input[name=cooldown_s]").fill("10")
    await form.locator("button[type=submit]").click()
    await expect(page.locator("#strategy-error")).to_contain_text("cooldown_s")
    await expect(form.locator("input[name=cooldown_s]")).to_have_attribute("aria-invalid", "true")
    await form.locator("input[name=cooldown_s]").fill("600")
    await form.locator("input[name=name]").fill("Steady climb")
    await condition.fill("close > sma(close, 10)")
    await expect(check).to_have_attribute("data-state", "ok")
    await form.locator("button[type=submit]").click()
    await expect(form).to_have_attribute("data-mode", "create")
    await expect(row.locator("td.name")).to_have_text("Steady climb")
    edited = (
        await dashboard.http.get(f"/v1/strategies/{stored['id']}", headers=user.headers)
    ).json()
    assert (edited["name"], edited["condition"], edited["cooldown_s"]) == (
        "Steady climb", "close > sma(close, 10)", 600,
    )  # fmt: skip

    # switched off and on again
    switch = row.locator("button[role=switch]")
    await switch.click()
    await expect(row).to_have_attribute("data-active", "false")
    off = (await dashboard.http.get(f"/v1/strategies/{stored['id']}", headers=user.headers)).json()
    assert off["active"] is False
    await row.locator("button[role=switch]").click()
    await expect(row).to_have_attribute("data-active", "true")
    on = (await dashboard.http.get(f"/v1/strategies/{stored['id']}", headers=user.headers)).json()
    assert on["active"] is True


async def test_an_alert_the_scanner_raises_appears_in_the_feed_with_its_values(
    dashboard: Dashboard,
) -> None:
    user = await signup(dashboard.http, EMAIL)
    r = await dashboard.http.post(
        "/v1/strategies",
        json={
            "name": "Climb",
            "instruments": ["binance:BTCUSDT"],
            "interval": "1m",
            "condition": "close > sma(close, 10) and rsi(14) > 50",
        },
        headers=user.headers,
    )
    assert r.status_code == 201, r.text
    page = await dashboard.page()
    await sign_in(page, user)
    feed = page.locator("#alerts-feed")
    await expect(feed).to_have_attribute("data-state", "live")  # registered with the hub
    assert await page.locator("#alerts-list li").count() == 0

    # the scanner closes the last stored minute
    async with scanner_at_the_end(dashboard.runtime):
        pushed = page.locator("#alerts-list li[data-source=stream]")
        await expect(pushed).to_have_count(1)

    (alert,) = (await dashboard.http.get("/v1/alerts", headers=user.headers)).json()["items"]
    assert await pushed.get_attribute("data-alert-id") == str(alert["id"])
    assert datetime.fromisoformat(alert["candle_close"]) == datetime.fromtimestamp(END_S, UTC)
    text = await pushed.inner_text()
    assert "Climb" in text and "binance:BTCUSDT" in text
    shown = await pushed.locator("dd").evaluate_all("ds => ds.map(d => d.dataset.value)")
    names = await pushed.locator("dt").all_inner_texts()
    assert dict(zip(names, map(float, shown), strict=True)) == alert["values"]
    assert set(alert["values"]) >= {"close", "sma(close, 10)", "rsi(14)"}

    # signed in again later, the feed starts with the alerts raised meanwhile
    await page.click("#signout")
    await expect(page.locator("#alerts-panel")).to_be_hidden()
    await sign_in(page, user)
    earlier = page.locator("#alerts-list li[data-source=history]")
    await expect(earlier).to_have_count(1)
    assert await earlier.get_attribute("data-alert-id") == str(alert["id"])


async def test_the_panels_fit_a_narrow_screen(dashboard: Dashboard) -> None:
    user = await signup(dashboard.http, EMAIL)
    page = await dashboard.page()
    await page.set_viewport_size({"width": 390, "height": 844})
    await sign_in(page, user)
    await expect(page.locator("#alerts-feed")).to_have_attribute("data-state", "live")
    await expect(page.locator("#listings")).to_have_attribute("data-state", "ready")
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
