"""The dashboard's workbench panels in a real browser (Debian's Chromium driven by
Playwright) against the real app served on loopback (uvicorn, SQLite, the in-memory bus),
over data stored the way tickhub stores it: trades through the writer, CoinMarketCap
calls through the writer, alerts raised by the real scanner at a minute boundary of a
clock the test moves.

- the market panel: the stored listings by rank, the latest global metrics, dominance
  over time; public, while the signed-in panels stay hidden;
- strategies: the condition checked as it is typed (an error and where, then the
  canonical reading), created, edited and switched off and on, as the API then holds it;
- alerts: one raised by the scanner arrives over /v1/alerts/stream with its values;
- backtest: the answer's alerts drawn as markers on the candles, with its summary.

Every wait is on page state (Playwright's `expect`/`wait_for`), none on time. With
TICKHUB_UPDATE_SCREENSHOT=1 the screenshot of the whole page replaces the README's
(docs/dashboard.png); otherwise it goes to the test's temporary directory."""

from __future__ import annotations

import json
import math
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, Route, async_playwright, expect

from tests.conftest import service_unavailable, store
from tests.e2e.test_dashboard import CHROMIUM, CHROMIUM_ARGS, README_SCREENSHOT
from tests.fixtures.accounts import PASSWORD, User, signup
from tests.fixtures.clocks import FakeTime
from tests.fixtures.local_http import serve
from tickhub.app import create_app
from tickhub.bootstrap import scanning
from tickhub.marketdata.events import CmcGlobalMetrics, CmcListing, CmcListings, Trade
from tickhub.runtime import Runtime
from tickhub.settings import Settings

TIMEOUT_MS = 30_000
# Chromium logs every 4xx answer. The tests send bad input (422) and let tokens expire
# (401) on purpose, and check what the page shows then; any other console error fails.
EXPECTED_REFUSALS = tuple(
    f"Failed to load resource: the server responded with a status of {status}"
    for status in (401, 422)
)
MINUTE_S = 60
US = 1_000_000
HISTORY_MIN = 6 * 60  # minutes of stored trades
CMC_MIN = 120  # minutes of stored CoinMarketCap calls
EMAIL = "workbench@example.com"
# The last closed minute: the stored history ends there, so the chart's "last 24 hours"
# shows it and the scanner's boundary closes its last candle.
END_S = int(datetime.now(UTC).timestamp()) // MINUTE_S * MINUTE_S


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: the browser tests are about the page, the stores are tested elsewhere."""
    return f"sqlite:///{tmp_path / 'tickhub.db'}"


def close_of(i: int) -> float:
    """The close of minute `i` of the history: waves, then a steady climb for the last 20
    minutes (so `close > sma(close, 10) and rsi(14) > 50` holds at the end)."""
    climb = max(0, i - (HISTORY_MIN - 20))
    return 30_000 + 150 * math.sin(i / 9) + 40 * math.sin(i / 2.3) + 25 * climb


def history() -> list[Trade]:
    start_s = END_S - HISTORY_MIN * MINUTE_S
    trades = []
    for i in range(HISTORY_MIN):
        at_us = (start_s + i * MINUTE_S) * US
        close = close_of(i)
        opened = close_of(i - 1) if i else close
        for n, (offset_s, price) in enumerate(
            ((5, opened), (25, max(opened, close) + 12), (40, min(opened, close) - 9), (55, close))
        ):
            trades.append(
                Trade(i * 4 + n + 1, at_us + offset_s * US, price, 0.5 + n / 10, n % 2 == 0)
            )
    return trades


def cmc_listing(rank: int, symbol: str, name: str, price: float, cap: float) -> CmcListing:
    return CmcListing(
        cmc_id=rank, symbol=symbol, name=name, slug=name.lower(), rank=rank, price=price,
        volume_24h=cap / 20, market_cap=cap, percent_change_1h=0.1 * rank,
        percent_change_24h=-1.5 + rank, percent_change_7d=4.2 - rank,
        circulating_supply=cap / price, total_supply=None, max_supply=None,
        last_updated=(END_S - 30) * US,
    )  # fmt: skip


LISTINGS = (
    cmc_listing(1, "BTC", "Bitcoin", 30_500.0, 6.0e11),
    cmc_listing(2, "ETH", "Ethereum", 1_850.0, 2.2e11),
    cmc_listing(3, "USDT", "Tether", 1.0, 8.3e10),
    cmc_listing(4, "BNB", "BNB", 240.0, 3.7e10),
    cmc_listing(5, "XRP", "XRP", 0.61, 3.2e10),
)


def btc_dominance(minute: int) -> float:
    return 48.0 + 1.5 * math.sin(minute / 17)


async def store_market_data(runtime: Runtime) -> None:
    """Trades of two instruments and two hours of CoinMarketCap calls, through the writer."""
    await store(runtime, "binance", "BTCUSDT", history())
    await store(
        runtime,
        "binance",
        "ETHUSDT",
        [Trade(i + 1, (END_S - (30 - i) * MINUTE_S) * US, 1_850.0 + i, 1.0) for i in range(30)],
    )
    assert runtime.writer is not None
    for m in range(CMC_MIN):
        minute_us = (END_S - (CMC_MIN - m) * MINUTE_S) * US
        await runtime.writer.write_cmc(
            CmcGlobalMetrics(
                minute=minute_us,
                convert="USD",
                active_cryptocurrencies=9_000 + m,
                btc_dominance=btc_dominance(m),
                eth_dominance=17.0 - btc_dominance(m) / 10,
                total_market_cap=1.25e12 + m * 1e9,
                total_volume_24h=4.1e10,
                last_updated=minute_us - 20 * US,
            )
        )
    await runtime.writer.write_cmc(CmcListings((END_S - MINUTE_S) * US, "USD", LISTINGS))


@dataclass
class Dashboard:
    url: str
    http: httpx.AsyncClient
    runtime: Runtime
    browser: Browser
    errors: list[str]

    async def page(self) -> Page:
        page = await self.browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(TIMEOUT_MS)
        page.on(
            "console",
            lambda m: (
                self.errors.append(f"console: {m.text}")
                if m.type == "error" and not m.text.startswith(EXPECTED_REFUSALS)
                else None
            ),
        )
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        await page.goto(self.url + "/")
        return page


@pytest.fixture
async def dashboard(runtime: Runtime) -> AsyncIterator[Dashboard]:
    if not CHROMIUM.is_file():
        service_unavailable("Chromium", f"{CHROMIUM} is missing; apt-get install chromium")
    await store_market_data(runtime)
    errors: list[str] = []
    async with (
        serve(create_app(runtime=runtime), lifespan=True) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
        async_playwright() as pw,
    ):
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield Dashboard(url, http, runtime, browser, errors)
        finally:
            await browser.close()
    assert errors == []


async def sign_in(page: Page, user: User) -> None:
    await page.fill("#signin input[name=email]", user.email)
    await page.fill("#signin input[name=password]", PASSWORD)
    await page.click("#signin button[type=submit]")
    await expect(page.locator("#strategies-panel")).to_be_visible()
    await expect(page.locator("#strategies")).to_have_attribute("data-state", "ready")


async def test_the_market_panel_shows_the_stored_listings_and_dominance(
    dashboard: Dashboard,
) -> None:
    page = await dashboard.page()
    # public: shown signed out, while the panels of a signed-in user stay hidden
    for panel in ("#strategies-panel", "#alerts-panel", "#backtest-panel"):
        await expect(page.locator(panel)).to_be_hidden()

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

    # one second before the boundary that closes the last stored minute: the scanner
    # evaluates it there, and idles after it
    time = FakeTime(END_S - 1, until=END_S + 30)
    runtime = dashboard.runtime
    async with scanning(
        runtime.settings, runtime.engine, runtime.bus, clock=time.clock, sleep=time.sleep
    ):
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
    time = FakeTime(END_S - 1, until=END_S + 30)
    runtime = dashboard.runtime
    async with scanning(
        runtime.settings, runtime.engine, runtime.bus, clock=time.clock, sleep=time.sleep
    ):
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


async def test_an_expired_access_token_is_refreshed_and_the_request_sent_again(
    dashboard: Dashboard,
) -> None:
    user = await signup(dashboard.http, EMAIL)
    r = await dashboard.http.post(
        "/v1/strategies",
        json={"name": "Dip", "instruments": ["binance:BTCUSDT"], "interval": "1m",
              "condition": "rsi(14) < 30"},
        headers=user.headers,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    strategy = r.json()
    page = await dashboard.page()
    await sign_in(page, user)

    # the first change is answered as if the access token had just expired
    tokens: list[str | None] = []

    async def expire_once(route: Route) -> None:
        if route.request.method != "PATCH":
            await route.continue_()
            return
        tokens.append(route.request.headers.get("authorization"))
        if len(tokens) > 1:
            await route.continue_()
            return
        problem = {"type": "about:blank", "title": "Unauthorized", "status": 401,
                   "detail": "the token has expired"}  # fmt: skip
        await route.fulfill(
            status=401, content_type="application/problem+json", body=json.dumps(problem)
        )

    await page.route("**/v1/strategies/*", expire_once)
    row = page.locator(f"#strategies tr[data-strategy-id='{strategy['id']}']")
    async with page.expect_response("**/api/token/refresh") as refreshed:
        await row.locator("button[role=switch]").click()
    assert (await refreshed.value).status == 200
    await expect(row).to_have_attribute("data-active", "false")
    assert len(tokens) == 2 and tokens[0] != tokens[1]  # sent again with the new token
    stored = await dashboard.http.get(f"/v1/strategies/{strategy['id']}", headers=user.headers)
    assert stored.json()["active"] is False
    await expect(page.locator("#strategies-panel")).to_be_visible()  # still signed in


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Open alert streams recheck their credentials often (the sign-out test waits for it)."""
    settings.gateway.stream_recheck_s = 0.2
    return settings


async def test_a_sign_in_that_no_longer_holds_signs_the_page_out(dashboard: Dashboard) -> None:
    user = await signup(dashboard.http, EMAIL)
    page = await dashboard.page()
    await sign_in(page, user)
    await expect(page.locator("#alerts-feed")).to_have_attribute("data-state", "live")

    # a password change elsewhere signs every session out, refresh tokens included: the
    # alert stream is closed with 4401, the refresh fails, and the page signs out
    r = await dashboard.http.post(
        "/v1/me/password",
        json={"current_password": PASSWORD, "new_password": PASSWORD + "-new"},
        headers=user.headers,
    )
    assert r.status_code == 204, r.text
    await expect(page.locator("#signin")).to_be_visible()
    await expect(page.locator("#signin-error")).to_contain_text("sign in again")
    for panel in ("#strategies-panel", "#alerts-panel", "#backtest-panel", "#account"):
        await expect(page.locator(panel)).to_be_hidden()
