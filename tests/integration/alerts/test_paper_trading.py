"""Paper trading: a strategy naming a session of its user books each alert the live
scanner raises as a transaction there (at the candle's close, in the scanner's own
transaction), and the session's figures follow, recomputed here from the alerts."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.conftest import store
from tests.fixtures.accounts import User, signup
from tickhub.alerts.events import AlertRaised
from tickhub.alerts.scanner import Scanner
from tickhub.marketdata.events import Trade
from tickhub.runtime import Runtime
from tickhub.settings import ScannerSettings

MIN = 60_000_000
T0 = int(datetime(2026, 4, 6, tzinfo=UTC).timestamp()) * 1_000_000
MINUTES = 200
PROBLEM = "application/problem+json"


def price(i: int) -> float:
    return 200 + 8 * math.sin(i / 6.0) + 0.07 * (i % 13)


@pytest.fixture
async def alice(client: httpx.AsyncClient, runtime: Runtime) -> User:
    trades = [Trade(i + 1, T0 + i * MIN + 20_000_000, price(i), 1.0) for i in range(MINUTES)]
    await store(runtime, "binance", "BTCUSDT", trades)
    return await signup(client, "alice@example.com")


async def new_session(client: httpx.AsyncClient, user: User, **fields: Any) -> int:
    body = {"session_name": "paper", "type": "testing", "starting_balance": 5000,
            "starting_coins": 2, "crypto_type": "BTC", **fields}  # fmt: skip
    r = await client.post("/session", json=body, headers=user.headers)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def refused(r: httpx.Response, field: str) -> None:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert field in {body.get("field")} | {e.get("field") for e in body.get("errors") or []}


async def test_live_alerts_book_transactions(
    client: httpx.AsyncClient, runtime: Runtime, alice: User
) -> None:
    session_id = await new_session(client, alice)
    strategy = {
        "name": "dip", "instruments": ["binance:BTCUSDT"], "interval": "1m",
        "condition": "close < sma(close, 8)", "cooldown_s": 300,
        "paper": {"session_id": session_id, "side": "Sale", "amount": "0.25"},
    }  # fmt: skip
    r = await client.post("/v1/strategies", json=strategy, headers=alice.headers)
    assert r.status_code == 201, r.text
    assert r.json()["paper"] == {"session_id": session_id, "side": "Sale", "amount": "0.25"}

    scanner = Scanner(runtime.engine, ScannerSettings(_env_file=None, history=50), clock=lambda: 0)
    raised: list[AlertRaised] = []
    for minute in range(20, MINUTES):
        result = await scanner.scan(T0 + minute * MIN)
        raised.extend(result.alerts)
    assert len(raised) > 3

    got = await client.get(f"/session/{session_id}", headers=alice.headers)
    assert got.status_code == 200, got.text
    s = got.json()
    earned = sum((Decimal("0.25") * Decimal(repr(a.close)) for a in raised), Decimal(0))
    assert s["number_of_trades"] == len(raised)
    assert Decimal(str(s["coins_sold"])) == Decimal("0.25") * len(raised)
    assert Decimal(str(s["ending_coins"])) == 2 - Decimal("0.25") * len(raised)
    assert s["ending_balance"] == pytest.approx(float(5000 + earned), rel=1e-12)
    assert s["derived"]["profit_loss"] == pytest.approx(float(earned), rel=1e-12)

    page = await client.get(f"/session/{session_id}/transaction", headers=alice.headers)
    assert page.status_code == 200, page.text
    items = page.json()["transactions"]
    assert len(items) == len(raised)
    assert {i["type"] for i in items} == {"Sale"}
    assert {i["crypto_type"] for i in items} == {"BTC"}  # the session's

    # the same strategy backtested into a new session: the same trades, the same figures
    body = {"strategy_id": r.json()["id"], "start": "2026-04-06T00:19:00Z",
            "end": "2026-04-06T03:19:00Z",
            "paper": {"side": "Sale", "amount": "0.25", "starting_balance": "5000",
                      "starting_coins": "2"}}  # fmt: skip
    bt = await client.post("/v1/strategies/backtest", json=body, headers=alice.headers)
    assert bt.status_code == 200, bt.text
    assert [a["close"] for a in bt.json()["alerts"]] == [a.close for a in raised]
    other = await client.get(f"/session/{bt.json()['paper']['session_id']}", headers=alice.headers)
    for key in ("coins_sold", "ending_coins", "ending_balance", "number_of_trades"):
        assert other.json()[key] == s[key], key


async def test_paper_session_must_be_yours(client: httpx.AsyncClient, alice: User) -> None:
    bob = await signup(client, "bob@example.com")
    bobs = await new_session(client, bob)
    strategy = {"name": "x", "instruments": ["BTCUSDT"], "interval": "1m", "condition": "close > 0",
                "paper": {"session_id": bobs, "side": "Purchase", "amount": "1"}}  # fmt: skip
    refused(await client.post("/v1/strategies", json=strategy, headers=alice.headers),
            "paper.session_id")  # fmt: skip
    mine = await new_session(client, alice)
    strategy["paper"] = {"session_id": mine, "side": "Hold", "amount": "1"}
    r = await client.post("/v1/strategies", json=strategy, headers=alice.headers)
    assert r.status_code == 422, r.text
    strategy["paper"] = {"session_id": mine, "side": "Purchase", "amount": "-1"}
    r = await client.post("/v1/strategies", json=strategy, headers=alice.headers)
    assert r.status_code == 422, r.text
    strategy["paper"] = {"session_id": mine, "side": "Purchase", "amount": "1"}
    made = await client.post("/v1/strategies", json=strategy, headers=alice.headers)
    assert made.status_code == 201, made.text
    url = f"/v1/strategies/{made.json()['id']}"
    off = await client.patch(url, json={"paper": None}, headers=alice.headers)
    assert off.status_code == 200 and off.json()["paper"] is None, off.text
    wrong = await client.patch(
        url,
        json={"paper": {"session_id": bobs, "side": "Sale", "amount": "1"}},
        headers=alice.headers,
    )
    refused(wrong, "paper.session_id")
