"""`/v1/alerts/stream` through a real server (uvicorn on a free port) and a real WebSocket
client: each user gets their own alerts as they are published on the bus, as the history
API shows them, and nobody else's; without valid credentials the socket is closed with
4401. Every wait is on a condition: `bus.join()` (every handler has run), then a ping whose
pong comes after everything queued before it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import store
from tests.fixtures.accounts import User, signup
from tests.fixtures.clocks import FakeClock
from tests.fixtures.local_http import serve
from tickhub.accounts import service
from tickhub.alerts.events import AlertRaised
from tickhub.alerts.repository import AlertsRepository
from tickhub.app import create_app
from tickhub.marketdata.events import Trade
from tickhub.runtime import Runtime
from tickhub.settings import GatewaySettings

TIMEOUT = 10
T0 = 1_764_000_000_000_000  # µs
MINUTE = 60_000_000


@dataclass
class Served:
    http: httpx.AsyncClient
    ws: str


@asynccontextmanager
async def served(runtime: Runtime) -> AsyncIterator[Served]:
    """The app on 127.0.0.1 with its lifespan (so its alert hub) running."""
    async with (
        serve(create_app(runtime=runtime), lifespan=True) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        yield Served(http, f"ws{url.removeprefix('http')}/v1/alerts/stream")


async def recv(ws: ClientConnection) -> dict[str, Any]:
    message = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
    assert isinstance(message, dict)
    return message


async def drain(ws: ClientConnection) -> list[dict[str, Any]]:
    """Everything the server had queued for this client, up to a pong."""
    await ws.send(json.dumps({"op": "ping"}))
    out = []
    while (m := await recv(ws)) != {"op": "pong"}:
        out.append(m)
    return out


async def closed_with(ws: ClientConnection) -> int | None:
    with pytest.raises(ConnectionClosed) as caught:
        await asyncio.wait_for(ws.recv(), TIMEOUT)
    return caught.value.rcvd.code if caught.value.rcvd else None


async def stored_alert(runtime: Runtime, user: User, strategy: dict[str, Any]) -> AlertRaised:
    """An alert stored as the scanner stores one, and the event it would publish."""
    raised = datetime(2026, 1, 1, 12, 0, 2, 500_000, tzinfo=UTC)
    event = AlertRaised(
        alert_id=0,
        user_id=user.id,
        strategy_id=strategy["id"],
        strategy_name=strategy["name"],
        exchange="binance",
        symbol="BTCUSDT",
        interval=strategy["interval"],
        candle_start=T0,
        candle_close=T0 + MINUTE,
        condition=strategy["condition"],
        close=101.25,
        raised_at=int(raised.timestamp()) * 1_000_000 + raised.microsecond,
        values={"close": 101.25, "sma(close, 3)": 100.5, "rsi(14)": None},
    )
    async with runtime.engine.begin() as conn:
        alert_id = await AlertsRepository(conn).add_alert(
            {
                "user_id": user.id,
                "strategy_id": event.strategy_id,
                "strategy_name": event.strategy_name,
                "exchange": event.exchange,
                "symbol": event.symbol,
                "interval": event.interval,
                "candle_start": event.candle_start,
                "candle_close": event.candle_close,
                "condition": event.condition,
                "values": event.values,
                "close": event.close,
                "raised_at": raised,
            }
        )
    return replace(event, alert_id=alert_id)


@pytest.fixture
async def market(runtime: Runtime) -> None:
    await store(runtime, "binance", "BTCUSDT", [Trade(1, T0, 100.0, 1.0, False)])


async def test_the_owner_gets_their_alerts_and_nobody_else_does(
    runtime: Runtime, market: None
) -> None:
    async with served(runtime) as app:
        alice = await signup(app.http, "alice@example.com")
        bob = await signup(app.http, "bob@example.com")
        r = await app.http.post(
            "/v1/strategies",
            json={
                "name": "dip",
                "instruments": ["binance:BTCUSDT"],
                "interval": "1m",
                "condition": "close > sma(close, 3)",
            },
            headers=alice.headers,
        )
        assert r.status_code == 201, r.text
        strategy = r.json()
        key = await app.http.post("/v1/api-keys", json={"name": "bot"}, headers=alice.headers)
        assert key.status_code == 201, key.text

        async with (
            connect(app.ws, additional_headers=alice.headers) as by_header,
            connect(f"{app.ws}?token={alice.access}") as by_query,
            connect(app.ws, additional_headers={"X-API-Key": key.json()["key"]}) as by_key,
            connect(app.ws, additional_headers=bob.headers) as other,
        ):
            for ws in (by_header, by_query, by_key, other):
                assert await drain(ws) == []  # connected, and registered with the hub

            event = await stored_alert(runtime, alice, strategy)
            await runtime.bus.publish(event.topic, event)
            await runtime.bus.join()

            history = await app.http.get(f"/v1/alerts/{event.alert_id}", headers=alice.headers)
            assert history.status_code == 200, history.text
            expected = {k: v for k, v in history.json().items() if k != "deliveries"}
            for ws in (by_header, by_query, by_key):
                assert await drain(ws) == [expected]
            assert await drain(other) == []

            # bob's own alert reaches bob only
            bobs = replace(event, user_id=bob.id, alert_id=999)
            await runtime.bus.publish(bobs.topic, bobs)
            await runtime.bus.join()
            assert [m["id"] for m in await drain(other)] == [999]
            assert await drain(by_header) == []

            await other.send("hello?")
            assert (await recv(other))["op"] == "error"


@pytest.mark.parametrize(
    ("query", "headers"),
    [
        ("", {}),
        ("?token=not-a-token", {}),
        ("", {"Authorization": "Bearer not-a-token"}),
        ("", {"X-API-Key": "th_not-a-key"}),
    ],
    ids=["none", "bad-query-token", "bad-bearer", "bad-api-key"],
)
async def test_without_valid_credentials_the_socket_is_closed_with_4401(
    runtime: Runtime, query: str, headers: dict[str, str]
) -> None:
    async with (
        served(runtime) as app,
        connect(f"{app.ws}{query}", additional_headers=headers) as ws,
    ):
        assert await closed_with(ws) == 4401


async def test_the_refresh_token_is_not_an_access_token(runtime: Runtime) -> None:
    async with served(runtime) as app:
        alice = await signup(app.http, "alice@example.com")
        async with connect(f"{app.ws}?token={alice.refresh}") as ws:
            assert await closed_with(ws) == 4401


async def test_over_http_it_says_to_use_a_websocket(runtime: Runtime) -> None:
    async with served(runtime) as app:
        alice = await signup(app.http, "alice@example.com")
        r = await app.http.get("/v1/alerts/stream", headers=alice.headers)
        assert r.status_code == 426
        assert r.headers["content-type"].startswith("application/problem+json")


# ---------------------------------------------------------------- credentials re-checked


@asynccontextmanager
async def rechecking(runtime: Runtime, clock: FakeClock) -> AsyncIterator[Served]:
    """Served with the credentials re-checked every 50 ms, and accounts on `clock`."""
    runtime.settings.gateway = GatewaySettings(_env_file=None, stream_recheck_s=0.05)
    app = create_app(runtime=runtime)
    app.state.accounts = service.build_accounts(runtime.settings, runtime.engine, clock=clock)
    async with (
        serve(app, lifespan=True) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        yield Served(http, f"ws{url.removeprefix('http')}/v1/alerts/stream")


async def test_an_expired_token_ends_the_stream(runtime: Runtime) -> None:
    clock = FakeClock()
    async with rechecking(runtime, clock) as app:
        ada = await signup(app.http, "ada@example.com")
        async with connect(f"{app.ws}?token={ada.access}") as ws:
            assert await drain(ws) == []
            clock.advance(seconds=runtime.settings.auth.access_ttl_s + 1)
            assert await closed_with(ws) == 4401


async def test_a_revoked_key_ends_the_stream(runtime: Runtime) -> None:
    async with rechecking(runtime, FakeClock()) as app:
        ada = await signup(app.http, "ada@example.com")
        r = await app.http.post("/v1/api-keys", json={"name": "bot"}, headers=ada.headers)
        key = r.json()
        async with connect(app.ws, additional_headers={"X-API-Key": key["key"]}) as ws:
            assert await drain(ws) == []
            r = await app.http.delete(f"/v1/api-keys/{key['id']}", headers=ada.headers)
            assert r.status_code == 204
            assert await closed_with(ws) == 4401
