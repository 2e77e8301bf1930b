"""Strategy to notification, end to end, as `tickhub up` and `tickhub scanner` wire it:
a user creates a strategy over HTTP, trades are stored by the writer, the scanner started
by `bootstrap.scanning` reaches the next minute boundary, raises the alert and wakes the
delivery worker, and the user's webhook receives it signed; the alert history then shows
the delivery as sent. Minute boundaries come from a clock the test moves (no waiting for
real minutes); everything else is real, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.conftest import store
from tests.fixtures.accounts import signup
from tests.fixtures.clocks import FakeTime
from tests.fixtures.webhook_receiver import WebhookReceiver
from tickhub.bootstrap import scanning
from tickhub.marketdata.events import Trade
from tickhub.runtime import Runtime
from tickhub.settings import Settings

MIN_S = 60
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC).timestamp()  # a minute boundary
SECRET = "pipeline-webhook-signing-secret"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The webhook receiver listens on loopback: the operator's allow-list lets it in."""
    settings.notify.notify_allow_hosts = ["127.0.0.1"]
    return settings


async def test_a_strategy_alert_reaches_its_webhook_signed_and_is_recorded_as_sent(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    start_us = int(T0 * 1_000_000)
    # Minute 0 and minute 1 of BTCUSDT: the close rises from 100 to 105.
    await store(
        runtime,
        "binance",
        "BTCUSDT",
        [
            Trade(1, start_us + 5_000_000, 100.0, 1.0),
            Trade(2, start_us + 65_000_000, 104.0, 2.0),
            Trade(3, start_us + 110_000_000, 105.0, 1.0),
        ],
    )
    user = await signup(client, "pipeline@example.com")
    receiver = WebhookReceiver(SECRET)
    async with receiver.serving() as url:
        r = await client.post(
            "/v1/strategies",
            json={
                "name": "Breakout",
                "instruments": ["binance:BTCUSDT"],
                "interval": "1m",
                "condition": "close > 104 and close > open",
                "channels": [{"type": "webhook", "url": f"{url}/hooks/tickhub", "secret": SECRET}],
            },
            headers=user.headers,
        )
        assert r.status_code == 201, r.text
        strategy = r.json()

        # 09:01:59: the scanner's next boundary is 09:02, when the candle of 09:01 closes.
        # Sleeping moves the clock at once, up to `until`, where the scanner idles.
        time = FakeTime(T0 + 2 * MIN_S - 1, until=T0 + 2 * MIN_S + 30)
        async with scanning(
            runtime.settings, runtime.engine, runtime.bus, clock=time.clock, sleep=time.sleep
        ) as alerting:
            (request,) = await receiver.wait_for_requests(1)
            await alerting.delivery.wait_idle()  # the delivery's outcome is recorded

    assert request.path == "/hooks/tickhub"
    assert request.signature_ok
    sent = json.loads(request.body)
    assert (sent["strategy_id"], sent["strategy_name"]) == (strategy["id"], "Breakout")
    assert (sent["exchange"], sent["symbol"], sent["interval"]) == ("binance", "BTCUSDT", "1m")
    assert sent["candle_start"] == "2026-03-02T09:01:00.000000Z"
    assert math.isclose(sent["close"], 105.0)

    r = await client.get("/v1/alerts", headers=user.headers)
    assert r.status_code == 200, r.text
    (alert,) = r.json()["items"]
    assert alert["id"] == sent["id"]
    assert math.isclose(alert["values"]["close"], 105.0)
    assert math.isclose(alert["values"]["open"], 104.0)
    r = await client.get(f"/v1/alerts/{alert['id']}", headers=user.headers)
    assert r.status_code == 200, r.text
    (delivery,) = r.json()["deliveries"]
    expected: dict[str, Any] = {"channel": "webhook", "status": "sent", "attempts": 1}
    assert {k: delivery[k] for k in expected} == expected
    assert delivery["response_status"] == 200
