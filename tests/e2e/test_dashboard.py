"""The dashboard at `/` in a real browser (Debian's Chromium driven by Playwright) against
a real `tickhub up` process with the simulated market: live board, chart, statistics,
coverage, source health, a signed-in user's sessions, a narrow screen, and no console
errors. Its screenshot goes to the test's temporary directory; the README's
(docs/dashboard.png) is taken by test_dashboard_panels.py, with every panel filled."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import service_unavailable
from tests.fixtures.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.fixtures.processes import free_port, wait_until

EMAIL = "trader@example.com"
PASSWORD = "correct horse battery staple 9"
TIMEOUT_MS = 30_000


@pytest.fixture
def tickhub_sim(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TICKHUB_")},
        "TICKHUB_PORT": str(port),
        "TICKHUB_DATA_DIR": str(tmp_path),
        "TICKHUB_SOURCES": "sim",
        "TICKHUB_SIM_RATE": "20",
        "TICKHUB_SIM_BATCH_INTERVAL_S": "0.1",
        "TICKHUB_AUTH_REQUIRE_VERIFICATION": "false",
    }
    with (tmp_path / "up.log").open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tickhub", "up"],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.kill()
            proc.wait(10)


def _sign_up_with_a_session(client: httpx.Client) -> None:
    body = {"email": EMAIL, "password": PASSWORD, "first_name": "Ada", "last_name": "Lovelace"}
    r = client.post("/api/user/register", json=body)
    assert r.status_code == 201, r.text
    r = client.post("/api/token", json={"email": EMAIL, "password": PASSWORD})
    assert r.status_code == 200, r.text
    auth = {"Authorization": f"Bearer {r.json()['access']}"}
    session = {
        "session_name": "momentum-bot",
        "type": "paper",
        "starting_balance": 1000.0,
        "starting_coins": 0.0,
        "crypto_type": "BTCUSDT",
    }
    r = client.post("/session", json=session, headers=auth)
    assert r.status_code == 201, r.text
    tx = {"type": "Purchase", "crypto_type": "BTCUSDT", "amount": 0.25, "value": 12345.5}
    r = client.post(f"/session/{r.json()['id']}/transaction", json=tx, headers=auth)
    assert r.status_code == 201, r.text


def _chart_matches_api(page: Any, client: httpx.Client, interval: str) -> None:
    page.wait_for_function(
        "iv => { const d = document.getElementById('chart').dataset;"
        " return d.interval === iv && d.state === 'ready'; }",
        arg=interval,
        timeout=TIMEOUT_MS,
    )
    d: dict[str, str] = page.eval_on_selector("#chart", "e => ({...e.dataset})")
    params = {k: d[k] for k in ("exchange", "symbol", "interval", "start", "end")}
    expected = client.get("/v1/candles", params={**params, "limit": 10_000}).json()
    assert int(d["candles"]) == len(expected) > 0, (interval, d)


def test_dashboard_live_board_chart_stats_sessions(tickhub_sim: str, tmp_path: Path) -> None:
    screenshot = tmp_path / "dashboard.png"
    if not CHROMIUM.is_file():
        service_unavailable("Chromium", f"{CHROMIUM} is missing; apt-get install chromium")
    from playwright.sync_api import sync_playwright

    base = tickhub_sim
    with httpx.Client(base_url=base, timeout=10) as client:
        wait_until(lambda: client.get("/healthz").status_code == 200, 30, "the API")
        # `all()` of an empty snapshot is true: wait for the sim instruments to exist first
        wait_until(lambda: client.get("/v1/snapshot").json()["items"], 30, "sim instruments")
        wait_until(
            lambda: all(i["price"] for i in client.get("/v1/snapshot").json()["items"]),
            30,
            "a simulated price for every instrument",
        )
        r = client.get("/v1/instruments", params={"exchange": "sim"})
        assert r.status_code == 200, r.text
        instruments = r.json()
        assert instruments
        _sign_up_with_a_session(client)

        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                errors: list[str] = []
                page.on(
                    "console",
                    lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None,
                )
                page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
                page.set_default_timeout(TIMEOUT_MS)
                page.goto(base + "/")

                # the board: every sim instrument, labelled, its price pushed live
                page.wait_for_selector("#board[data-state=ready]")
                for inst in instruments:
                    row = page.locator(f"#board li[data-key='sim:{inst['symbol']}']")
                    assert row.get_attribute("data-simulated") == "true"
                    assert "simulated" in row.inner_text().lower()
                # grouped by asset (USD stablecoins with USD), each group with its spread
                for inst in instruments:
                    group_quote = (
                        "USD" if inst["quote"] in ("USD", "USDT", "USDC") else inst["quote"]
                    )
                    asset = f"{inst['base']}/{group_quote}"
                    grouped = page.locator(
                        f"#board li.asset[data-asset='{asset}'] li[data-key='sim:{inst['symbol']}']"
                    )
                    assert grouped.count() == 1, asset
                    spread = page.locator(f"#board li.asset[data-asset='{asset}'] .spread")
                    assert spread.get_attribute("data-venues") == "1"  # the simulator alone
                key = f"sim:{instruments[0]['symbol']}"
                selector = f"#board li[data-key='{key}']"
                page.wait_for_function(
                    "s => Number(document.querySelector(s).dataset.updates) > 0", arg=selector
                )
                first = page.get_attribute(selector, "data-price")
                page.wait_for_function(
                    "([s, p]) => document.querySelector(s).dataset.price !== p",
                    arg=[selector, first],
                )

                # the chart: candles as the API counts them, switching by mouse and keyboard
                _chart_matches_api(page, client, "1m")
                page.wait_for_function(
                    "Number(document.getElementById('chart').dataset.liveUpdates) > 0"
                )
                page.click("#intervals button[data-interval='1h']")
                _chart_matches_api(page, client, "1h")
                page.focus("#intervals button[data-interval='5m']")
                page.keyboard.press("Enter")
                _chart_matches_api(page, client, "5m")
                assert page.get_attribute("#intervals [data-interval='5m']", "aria-pressed") == (
                    "true"
                )
                assert page.locator("#chart canvas").count() > 0

                # statistics, coverage and source health
                page.wait_for_selector("#stats[data-state=ready]")
                assert int(page.get_attribute("#stats", "data-count") or 0) > 0
                page.wait_for_selector("#coverage[data-state=ready]")
                assert "range" in page.inner_text("#coverage")
                sim = page.locator("#sources li[data-source=sim]")
                sim.wait_for()
                assert sim.get_attribute("data-state") == "simulated"
                assert "Simulated market running" in sim.inner_text()

                # a signed-in user sees their sessions and transactions
                page.fill("#signin input[name=email]", EMAIL)
                page.fill("#signin input[name=password]", PASSWORD)
                page.click("#signin button[type=submit]")
                page.wait_for_selector("#sessions[data-state=ready]")
                sessions = page.inner_text("#sessions")
                assert "momentum-bot" in sessions
                assert "12,345.50" in sessions and "Purchase" in sessions

                page.screenshot(path=str(screenshot), full_page=True)
                assert screenshot.stat().st_size > 0

                # a narrow screen: no horizontal scrolling
                narrow = browser.new_page(viewport={"width": 390, "height": 844})
                narrow.on(
                    "console",
                    lambda m: (
                        errors.append(f"narrow console: {m.text}") if m.type == "error" else None
                    ),
                )
                narrow.on("pageerror", lambda e: errors.append(f"narrow pageerror: {e}"))
                narrow.goto(base + "/")
                narrow.wait_for_selector("#chart[data-state=ready]", timeout=TIMEOUT_MS)
                overflow = narrow.evaluate(
                    "document.documentElement.scrollWidth - document.documentElement.clientWidth"
                )
                assert overflow <= 0
                narrow.close()
                page.close()
            finally:
                browser.close()
        assert errors == []
