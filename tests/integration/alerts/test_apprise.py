"""The `apprise` channel over HTTP and end to end, on SQLite and PostgreSQL: its URL is
checked when saved (a 422 naming the field), stored encrypted (the row holds no
plaintext), never shown (an id, the scheme and a masked host instead), and an alert of
the scanner reaches a local apprise target (`json://` on loopback, let in by the
operator's allow-list) with its values. A service that messages a person (Signal here)
gets a confirmation code first."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import store
from tests.fixtures.accounts import User, signup
from tests.fixtures.apprise_receiver import AppriseReceiver
from tests.fixtures.clocks import FakeTime
from tests.integration.alerts.test_api import STRATEGY, markets, refused
from tests.integration.alerts.test_notifiers import NOW, configured, delivery, seed
from tests.integration.alerts.test_webhook_guard import Resolver
from tickhub.alerts.notifiers import (
    AddressPolicy,
    DeliveryWorker,
    OutboxUnitOfWork,
    apprise_channel,
    channel_keys,
    confirm_target,
)
from tickhub.bootstrap import scanning
from tickhub.marketdata.events import Trade
from tickhub.runtime import Runtime
from tickhub.settings import Settings

__all__ = ["markets"]  # the fixture, used by name

PASSWORD = "hunter2-apprise-secret"
SECRET_PATH = "/hooks/k8Zr4Qx"
CODE = re.compile(r"Confirmation code: ([0-9]{6})")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The local services listen on loopback: the operator's allow-list lets it in."""
    settings.notify.notify_allow_hosts = ["127.0.0.1"]
    return settings


@pytest.fixture
async def alice(client: httpx.AsyncClient, markets: None) -> User:
    return await signup(client, "alice@example.com")


async def raw_channels(runtime: Runtime, strategy_id: int) -> str:
    """The stored column as the database holds it."""
    async with runtime.engine.connect() as conn:
        value = await conn.scalar(
            text("SELECT CAST(channels AS TEXT) FROM strategies WHERE id = :id"),
            {"id": strategy_id},
        )
    return str(value)


async def test_the_url_is_stored_encrypted_and_never_shown(
    runtime: Runtime, client: httpx.AsyncClient, alice: User
) -> None:
    url = f"json://bot:{PASSWORD}@alerts.example.org:8443{SECRET_PATH}"
    r = await client.post(
        "/v1/strategies",
        json={**STRATEGY, "channels": [{"type": "apprise", "url": url}]},
        headers=alice.headers,
    )
    assert r.status_code == 201, r.text
    made = r.json()
    (shown,) = made["channels"]
    assert shown == {
        "type": "apprise",
        "id": shown["id"],
        "scheme": "json",
        "host": "al…",
        "needs_confirmation": False,
    }
    assert re.fullmatch(r"[0-9a-f]{16}", shown["id"])
    path = f"/v1/strategies/{made['id']}"
    for answer in (
        r,
        await client.get(path, headers=alice.headers),
        await client.get("/v1/strategies", headers=alice.headers),
    ):
        for part in (PASSWORD, SECRET_PATH, "alerts.example.org", "sealed"):
            assert part not in answer.text

    stored = await raw_channels(runtime, made["id"])
    for part in (PASSWORD, SECRET_PATH, "alerts.example.org", "bot:"):
        assert part not in stored
    keys = channel_keys(runtime.settings)
    sealed = re.search(r'"sealed": ?"([^"]+)"', stored)
    assert sealed is not None and keys.open(sealed[1]) == url

    # sent back by id, the channel stays as it was; an unknown id is refused
    r = await client.patch(
        path, json={"channels": [{"type": "apprise", "id": shown["id"]}]}, headers=alice.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["channels"] == [shown]
    assert await raw_channels(runtime, made["id"]) == stored
    r = await client.patch(
        path, json={"channels": [{"type": "apprise", "id": "0" * 16}]}, headers=alice.headers
    )
    refused(r, 422, "channels.0.apprise.id")


@pytest.mark.parametrize(
    ("channel", "field"),
    [
        ({"type": "apprise", "url": "nosuchservice://token"}, "channels.0.apprise.url"),
        ({"type": "apprise", "url": "not a url"}, "channels.0.apprise.url"),
        ({"type": "apprise", "url": "mailto://user:pw@gmail.com"}, "channels.0.apprise.url"),
        ({"type": "apprise", "url": "rsyslog://10.0.0.1"}, "channels.0.apprise.url"),
        ({"type": "apprise", "url": "json://10.1.2.3/in"}, "channels.0.apprise.url"),
        ({"type": "apprise", "url": "json://169.254.169.254/latest"}, "channels.0.apprise.url"),
        ({"type": "apprise", "url": "json://[::1]:8000/"}, "channels.0.apprise.url"),
        ({"type": "apprise", "url": "gotify://0x7f000002/token"}, "channels.0.apprise.url"),
        ({"type": "apprise", "url": "ntfy://192.168.1.5/alerts"}, "channels.0.apprise.url"),
        ({"type": "apprise"}, "channels.0.apprise"),
        ({"type": "apprise", "url": "ntfy://a", "id": "0" * 16}, "channels.0.apprise"),
        ({"type": "apprise", "id": "not-an-id"}, "channels.0.apprise.id"),
        ({"type": "apprise", "url": "ntfy://" + "a" * 2100}, "channels.0.apprise.url"),
    ],
)
async def test_bad_apprise_urls_are_refused_naming_the_field(
    runtime: Runtime, client: httpx.AsyncClient, alice: User, channel: Any, field: str
) -> None:
    r = await client.post(
        "/v1/strategies", json={**STRATEGY, "channels": [channel]}, headers=alice.headers
    )
    body = refused(r, 422, field)
    assert PASSWORD not in r.text
    assert body["status"] == 422
    r = await client.get("/v1/strategies", headers=alice.headers)
    assert r.json()["items"] == []


async def test_a_phone_messaging_service_needs_confirmation_and_loopback_is_allowed(
    client: httpx.AsyncClient, alice: User
) -> None:
    channels = [
        {"type": "apprise", "url": "signal://127.0.0.1:8080/+15551234567/+15557654321"},
        {"type": "apprise", "url": "ntfy://my-tickhub-alerts"},
    ]
    r = await client.post(
        "/v1/strategies", json={**STRATEGY, "channels": channels}, headers=alice.headers
    )
    assert r.status_code == 201, r.text
    signal, ntfy = r.json()["channels"]
    assert (signal["scheme"], signal["needs_confirmation"]) == ("signal", True)
    assert (ntfy["scheme"], ntfy["needs_confirmation"]) == ("ntfy", False)
    assert "15557654321" not in r.text

    twice = [channels[1], channels[1]]
    r = await client.patch(
        f"/v1/strategies/{r.json()['id']}", json={"channels": twice}, headers=alice.headers
    )
    refused(r, 422, "channels.1.apprise")


MIN_S = 60
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC).timestamp()  # a minute boundary


async def test_a_scanner_alert_reaches_a_local_apprise_target_with_its_values(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    start_us = int(T0 * 1_000_000)
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
    receiver = AppriseReceiver()
    async with receiver.serving() as port:
        url = f"json://bot:{PASSWORD}@127.0.0.1:{port}{SECRET_PATH}"
        r = await client.post(
            "/v1/strategies",
            json={
                "name": "Breakout",
                "instruments": ["binance:BTCUSDT"],
                "interval": "1m",
                "condition": "close > 104 and close > open",
                "channels": [{"type": "apprise", "url": url}],
            },
            headers=user.headers,
        )
        assert r.status_code == 201, r.text
        channel_id = r.json()["channels"][0]["id"]

        time = FakeTime(T0 + 2 * MIN_S - 1, until=T0 + 2 * MIN_S + 30)
        async with scanning(
            runtime.settings, runtime.engine, runtime.bus, clock=time.clock, sleep=time.sleep
        ) as alerting:
            (request,) = await receiver.wait_for_requests(1)
            await alerting.delivery.wait_idle()

    assert request.path == SECRET_PATH
    assert request.headers["authorization"].startswith("Basic ")
    sent = request.json()
    assert sent["title"] == "tickhub alert: Breakout on binance:BTCUSDT 1m"
    lines = sent["message"].splitlines()
    assert "Instrument: binance:BTCUSDT" in lines
    assert "Close: 105" in lines
    assert "  close = 105" in lines and "  open = 104" in lines

    r = await client.get("/v1/alerts", headers=user.headers)
    (alert,) = r.json()["items"]
    assert math.isclose(alert["values"]["close"], 105.0)
    r = await client.get(f"/v1/alerts/{alert['id']}", headers=user.headers)
    (d,) = r.json()["deliveries"]
    assert (d["channel"], d["target"], d["status"], d["attempts"]) == (
        "apprise",
        channel_id,
        "sent",
        1,
    )
    assert d["last_error"] is None and PASSWORD not in r.text and SECRET_PATH not in r.text


async def test_an_sms_like_target_gets_a_code_first_and_the_alert_once_confirmed(
    engine: AsyncEngine, settings: Settings
) -> None:
    receiver = AppriseReceiver()
    outbox = OutboxUnitOfWork.factory(engine)
    keys = channel_keys(settings)
    async with receiver.serving() as port:
        url = f"signal://signal.internal:{port}/+15551234567/+15557654321"
        policy = AddressPolicy(["signal.internal"])
        channel = apprise_channel(
            url=url, channel_id=None, previous=[], field="c", policy=policy, keys=keys
        )
        assert channel["proof"] is True
        s = await seed(engine, [channel], proven=False)
        resolver = Resolver({"signal.internal": [["127.0.0.1"]]})
        config = configured(settings, notify_allow_hosts=["signal.internal"])
        async with DeliveryWorker(outbox, config, resolver=resolver, keys=keys) as worker:
            assert await worker.deliver_due(NOW) == 1
            (first,) = receiver.received
            assert first.path == "/v2/send"
            assert first.json()["recipients"] == ["+15557654321"]
            found = CODE.search(first.json()["message"])
            assert found is not None
            assert "BTC breakout" not in first.json()["message"]
            row = await delivery(engine, s.deliveries[0])
            assert row.status == "pending" and "confirmed" in row.last_error

            later = NOW + timedelta(seconds=60)
            assert await worker.deliver_due(later) == 1
            assert len(receiver.received) == 1  # no second code within the hour

            await confirm_target(
                outbox,
                user_id=s.user_id,
                channel="apprise",
                target=channel["id"],
                code=found[1],
                now=later,
            )
            assert await worker.deliver_due(later + timedelta(seconds=60)) == 1

    second = receiver.received[1]
    assert "Close: 101234.5" in second.json()["message"]
    row = await delivery(engine, s.deliveries[0])
    assert (row.status, row.target) == ("sent", channel["id"])
