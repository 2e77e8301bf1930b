"""Signing in on the dashboard, in a real browser against the real app (see
tests/fixtures/workbench.py): an access token refused as expired is refreshed and the
request sent again; a sign-in revoked elsewhere (a password change) closes the alert
stream with 4401, the refresh fails and the page signs out, saying so."""

from __future__ import annotations

import json

import pytest
from playwright.async_api import Route, expect

from tests.fixtures.accounts import PASSWORD, signup
from tests.fixtures.workbench import EMAIL, Dashboard, sign_in
from tickhub.settings import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Open alert streams recheck their credentials often (the sign-out test waits for it)."""
    settings.gateway.stream_recheck_s = 0.2
    return settings


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
