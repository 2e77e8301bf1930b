"""`POST /v1/strategies/backtest` over HTTP on SQLite and PostgreSQL: the alerts against
an oracle, forward returns and the summary against a recomputation from the prices the
test made, coverage holes, paper sessions' figures, and every refusal naming its field."""

from __future__ import annotations

import math
import statistics
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import numpy as np
import pytest

from tests.conftest import store
from tests.fixtures.accounts import User, signup
from tickhub.alerts.language import evaluate, parse
from tickhub.marketdata.events import Trade
from tickhub.runtime import Runtime

MIN = 60_000_000
T0 = int(datetime(2026, 3, 2, tzinfo=UTC).timestamp()) * 1_000_000
MINUTES = 400
QUIET = 150  # no trade in this minute: its candle does not exist
LOST = range(300, 305)  # trade ids skipped here: a hole in the coverage
PROBLEM = "application/problem+json"
CONDITION = "close > sma(close, 10)"


def price(i: int) -> float:
    return 100 + 5 * math.sin(i / 7.0) + 0.05 * (i % 11)


def minutes() -> list[int]:
    return [i for i in range(MINUTES) if i != QUIET and i not in LOST]


@pytest.fixture
async def market(runtime: Runtime) -> None:
    # consecutive ids across the quiet minute (nothing lost there), a jump across LOST
    trades = [
        Trade(i + (0 if i > QUIET else 1), T0 + i * MIN + 30_000_000, price(i), 1.0)
        for i in minutes()
    ]
    await store(runtime, "binance", "BTCUSDT", trades)


@pytest.fixture
async def alice(client: httpx.AsyncClient, market: None) -> User:
    return await signup(client, "alice@example.com")


def iso(us: int) -> str:
    return datetime.fromtimestamp(us / 1e6, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def backtest(client: httpx.AsyncClient, user: User, **fields: Any) -> httpx.Response:
    body = {
        "instruments": ["binance:BTCUSDT"],
        "interval": "1m",
        "condition": CONDITION,
        "cooldown_s": 0,
        "start": iso(T0 + 20 * MIN),
        "end": iso(T0 + 390 * MIN),
        **fields,
    }
    return await client.post("/v1/strategies/backtest", json=body, headers=user.headers)


def refused(r: httpx.Response, status: int, field: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = r.json()
    named = {body.get("field")} | {e.get("field") for e in body.get("errors") or []}
    assert field in named, body
    return body


def oracle_rows(first: int, last: int, cooldown_min: int = 0) -> list[int]:
    """Minutes whose candle the condition holds on (a finite-lookback condition, so the
    whole history gives the same values as any window), from `first` to `last`."""
    ms = minutes()
    closes = np.array([price(i) for i in ms])
    truth = evaluate(parse(CONDITION), {"close": closes})
    out: list[int] = []
    for row, i in enumerate(ms):
        if truth[row] and first <= i <= last and (not out or i - out[-1] >= cooldown_min):
            out.append(i)
    return out


def forward(i: int, h: int) -> float | None:
    j = i + h
    if j not in set(minutes()):
        return None
    return price(j) / price(i) - 1


async def test_alerts_forward_returns_and_summary(client: httpx.AsyncClient, alice: User) -> None:
    r = await backtest(client, alice, horizons=[1, 5, 60])
    assert r.status_code == 200, r.text
    body = r.json()
    got = [(a["candle_start"], a["close"]) for a in body["alerts"]]
    want = oracle_rows(20, 389)
    assert got == [(iso(T0 + i * MIN), price(i)) for i in want]
    assert body["summary"]["count"] == len(want) > 10
    for a, i in zip(body["alerts"], want, strict=True):
        assert a["instrument"] == {"exchange": "binance", "symbol": "BTCUSDT"}
        assert (a["interval"], a["condition"]) == ("1m", CONDITION)
        assert a["candle_close"] == iso(T0 + (i + 1) * MIN)
        assert set(a["values"]) == {"close", "sma(close, 10)"}
        for h in (1, 5, 60):
            expected = forward(i, h)
            if expected is None:
                assert a["forward_returns"][str(h)] is None
            else:
                assert a["forward_returns"][str(h)] == pytest.approx(expected, rel=1e-12)
    # past the end of the data (minute 399 is the last): null
    assert any(a["forward_returns"]["60"] is None for a in body["alerts"])
    for key in ("1", "5", "60"):
        values = [v for a in body["alerts"] if (v := a["forward_returns"][key]) is not None]
        s = body["summary"]["horizons"][key]
        assert s["count"] == len(values)
        assert s["mean"] == pytest.approx(statistics.fmean(values))
        assert s["median"] == pytest.approx(statistics.median(values))
        assert s["positive_share"] == pytest.approx(sum(v > 0 for v in values) / len(values))


async def test_cooldown_and_default_horizons(client: httpx.AsyncClient, alice: User) -> None:
    r = await backtest(client, alice, cooldown_s=600)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["horizons"] == [1, 5, 15, 60]
    starts = [a["candle_start"] for a in body["alerts"]]
    assert starts == [iso(T0 + i * MIN) for i in oracle_rows(20, 389, cooldown_min=10)]
    assert set(body["alerts"][0]["forward_returns"]) == {"1", "5", "15", "60"}


async def test_coverage_holes_are_reported(client: httpx.AsyncClient, alice: User) -> None:
    r = await backtest(client, alice)
    assert r.status_code == 200, r.text
    (cov,) = r.json()["coverage"]
    assert cov["instrument"] == {"exchange": "binance", "symbol": "BTCUSDT"}
    assert cov["expected_candles"] == 370
    assert cov["candles"] == 370 - 1 - len(LOST)
    assert cov["complete"] is False
    (hole,) = cov["holes"]  # the skipped ids; the quiet minute has no missing id
    assert hole["start"] > iso(T0 + 299 * MIN) and hole["end"] <= iso(T0 + 305 * MIN + 30_000_000)
    whole = await backtest(client, alice, start=iso(T0 + 20 * MIN), end=iso(T0 + 290 * MIN))
    assert whole.json()["coverage"][0]["holes"] == []
    assert whole.json()["coverage"][0]["complete"] is True


async def test_stored_strategy(client: httpx.AsyncClient, alice: User) -> None:
    made = await client.post(
        "/v1/strategies",
        json={"name": "s", "instruments": ["BTCUSDT"], "interval": "1m", "condition": CONDITION},
        headers=alice.headers,
    )
    assert made.status_code == 201, made.text
    sid = made.json()["id"]
    body = {"strategy_id": sid, "start": iso(T0 + 20 * MIN), "end": iso(T0 + 390 * MIN)}
    r = await client.post("/v1/strategies/backtest", json=body, headers=alice.headers)
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["strategy_id"], out["cooldown_s"]) == (sid, 300)
    assert [a["candle_start"] for a in out["alerts"]] == [
        iso(T0 + i * MIN) for i in oracle_rows(20, 389, cooldown_min=5)
    ]
    bob = await signup(client, "bob@example.com")
    r = await client.post("/v1/strategies/backtest", json=body, headers=bob.headers)
    refused(r, 404, "strategy_id")


async def test_paper_session_figures(client: httpx.AsyncClient, alice: User) -> None:
    paper = {"side": "Purchase", "amount": "0.5", "starting_balance": "10000"}
    r = await backtest(client, alice, cooldown_s=900, paper=paper)
    assert r.status_code == 200, r.text
    out = r.json()
    alerts = out["alerts"]
    assert out["paper"]["transactions"] == len(alerts) > 2
    got = await client.get(f"/session/{out['paper']['session_id']}", headers=alice.headers)
    assert got.status_code == 200, got.text
    session = got.json()
    spent = sum(Decimal("0.5") * Decimal(repr(a["close"])) for a in alerts)
    assert Decimal(str(session["coins_bought"])) == Decimal("0.5") * len(alerts)
    assert Decimal(str(session["ending_coins"])) == Decimal("0.5") * len(alerts)
    # the seed's body shows amounts as JSON numbers
    assert session["ending_balance"] == pytest.approx(float(Decimal(10000) - spent), rel=1e-12)
    assert session["derived"]["profit_loss"] == pytest.approx(-float(spent), rel=1e-12)
    assert session["number_of_trades"] == len(alerts)


async def test_refusals_name_the_field(client: httpx.AsyncClient, alice: User) -> None:
    refused(await backtest(client, alice, interval="90s"), 422, "interval")
    refused(await backtest(client, alice, condition="close >"), 422, "condition")
    refused(await backtest(client, alice, condition="__import__('os')"), 422, "condition")
    refused(await backtest(client, alice, instruments=["binance:NOPE"]), 422, "instruments.0")
    refused(await backtest(client, alice, start=iso(T0 + 9 * MIN), end=iso(T0)), 422, "start")
    refused(await backtest(client, alice, start="yesterday"), 422, "start")
    refused(await backtest(client, alice, horizons=[0]), 422, "horizons.0")
    refused(await backtest(client, alice, horizons=[]), 422, "horizons")
    refused(await backtest(client, alice, cooldown_s=-1), 422, "cooldown_s")
    big = await backtest(client, alice, start="2020-01-01T00:00:00Z", end="2026-01-01T00:00:00Z")
    assert "1,000,000" in refused(big, 422, "end")["detail"]
    both = await backtest(client, alice, strategy_id=1)
    assert both.status_code == 422, both.text
    r = await client.post("/v1/strategies/backtest", json={"start": "2026-01-01", "end": "x"})
    assert r.status_code == 401
