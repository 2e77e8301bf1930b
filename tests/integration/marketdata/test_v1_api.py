"""The `/v1` market-data API over HTTP, on SQLite and PostgreSQL. Trades are stored through
the real writer; candles and statistics are checked against a recomputation from those
trades."""

from __future__ import annotations

import base64
import math
import random
import re
import statistics as pystats
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.conftest import store
from tickhub.common.time import now_us
from tickhub.marketdata.events import SourceState, SourceStatus, Trade, TradeBatch
from tickhub.marketdata.ingest.tracker import Tracker
from tickhub.marketdata.store.candles import DAY, HOUR, MINUTE
from tickhub.runtime import Runtime

S = 1_000_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Three days around the start of summer time in Europe (2026-03-29 01:00 UTC).
T0 = int((datetime(2026, 3, 28, tzinfo=UTC) - EPOCH) / timedelta(microseconds=1))
SPAN = 3 * DAY
STEP = 37 * S
BURST_AT = T0 + 5 * HOUR + 30 * S  # many trades within a few seconds, some at the same time
TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
PROBLEM = "application/problem+json"


def utc(ts: int) -> datetime:
    return EPOCH + timedelta(microseconds=ts)


def iso(ts: int) -> str:
    return utc(ts).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def us(text: str) -> int:
    assert TIME_RE.match(text), text
    return int((datetime.fromisoformat(text) - EPOCH) / timedelta(microseconds=1))


def series(first_id: int = 1, seed: int = 3) -> list[Trade]:
    """A trade every 37 s for three days, plus a burst of 120 trades within 6 seconds."""
    rnd = random.Random(seed)
    price = 60_000.0
    times = list(range(T0, T0 + SPAN, STEP))
    times += [BURST_AT + rnd.randrange(6) * S + rnd.choice([0, 0, 250_000]) for _ in range(120)]
    out = []
    for i, ts in enumerate(sorted(times)):
        price *= math.exp(rnd.gauss(0, 0.001))
        qty = round(rnd.expovariate(3.0) + 0.0001, 6)
        out.append(Trade(first_id + i, ts, round(price, 2), qty, rnd.random() < 0.5))
    return out


async def store_all(runtime: Runtime, exchange: str, symbol: str, trades: Sequence[Trade]) -> None:
    for i in range(0, len(trades), 1500):
        await store(runtime, exchange, symbol, trades[i : i + 1500], simulated=exchange == "sim")


@pytest.fixture
async def btc(runtime: Runtime) -> list[Trade]:
    trades = series()
    await store_all(runtime, "binance", "BTCUSDT", trades)
    return trades


def assert_problem(resp: httpx.Response, field: str, status: int | None = None) -> None:
    """A 4xx `application/problem+json` naming `field` (top level or among `errors`)."""
    assert 400 <= resp.status_code < 500, (resp.status_code, resp.text)
    if status is not None:
        assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith(PROBLEM)
    body = resp.json()
    assert body["status"] == resp.status_code
    named = {body.get("field")} | {e.get("field") for e in body.get("errors") or []}
    assert field in named, body


def assert_times(value: Any) -> None:
    """Every key that names a time holds `YYYY-MM-DDTHH:MM:SS.ffffffZ`."""
    if isinstance(value, list):
        for v in value:
            assert_times(v)
    elif isinstance(value, dict):
        for k, v in value.items():
            if k in {"time", "start", "end", "after", "before"} or k.endswith(("_at", "_time")):
                assert v is None or TIME_RE.match(v), (k, v)
            elif k.startswith("window_"):
                assert TIME_RE.match(v), (k, v)
            else:
                assert_times(v)


# ------------------------------------------------------------------ reference candles


def reference(trades: Iterable[Trade], bucket: Callable[[int], int]) -> dict[int, dict[str, Any]]:
    groups: dict[int, list[Trade]] = defaultdict(list)
    for t in trades:
        groups[bucket(t.ts)].append(t)
    out = {}
    for start, ts in groups.items():
        ts.sort(key=lambda t: (t.ts, t.trade_id))
        volume = sum(t.qty for t in ts)
        quote = sum(t.price * t.qty for t in ts)
        out[start] = {
            "open": ts[0].price,
            "high": max(t.price for t in ts),
            "low": min(t.price for t in ts),
            "close": ts[-1].price,
            "volume": volume,
            "quote_volume": quote,
            "trade_count": len(ts),
            "vwap": quote / volume,
        }
    return out


def fixed(size: int) -> Callable[[int], int]:
    return lambda ts: ts - ts % size


def local_days(zone: str, *, weeks: bool = False) -> Callable[[int], int]:
    tz = ZoneInfo(zone)

    def bucket(ts: int) -> int:
        local = utc(ts).astimezone(tz)
        day = local.date() - timedelta(days=local.weekday() if weeks else 0)
        midnight = datetime(day.year, day.month, day.day, tzinfo=tz)
        return int((midnight - EPOCH) / timedelta(microseconds=1))

    return bucket


def check_candles(got: list[dict[str, Any]], want: dict[int, dict[str, Any]]) -> None:
    assert [us(c["time"]) for c in got] == sorted(want)
    for c in got:
        w = want[us(c["time"])]
        for key, value in w.items():
            assert c[key] == pytest.approx(value, rel=1e-9), (c["time"], key)


# ------------------------------------------------------------------ catalogue and prices


async def test_exchanges_and_instruments(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await store(runtime, "binance", "BTCUSDT", [Trade(1, T0, 100.0, 1.0)])
    await store(runtime, "binance", "ETHUSDT", [Trade(1, T0, 10.0, 1.0)])
    await store(runtime, "sim", "BTCUSDT", [Trade(1, T0, 99.0, 1.0)], simulated=True)

    r = await client.get("/v1/exchanges")
    assert r.status_code == 200
    binance, sim = r.json()
    assert {k: binance[k] for k in ("name", "title", "country", "simulated")} == {
        "name": "binance",
        "title": "Binance",
        "country": "Malta",
        "simulated": False,
    }
    assert binance["capabilities"] == {
        "trade_ids": True,
        "backfill": True,
        "transport": "websocket",
    }
    assert binance["completeness"] == "ids"
    assert (sim["name"], sim["simulated"], sim["completeness"]) == ("sim", True, "simulated")
    assert (await client.get("/v1/exchanges/")).json() == r.json()

    r = await client.get("/v1/instruments")
    assert [(i["exchange"], i["symbol"], i["base"], i["quote"]) for i in r.json()] == [
        ("binance", "BTCUSDT", "BTC", "USDT"),
        ("binance", "ETHUSDT", "ETH", "USDT"),
        ("sim", "BTCUSDT", "BTC", "USDT"),
    ]
    r = await client.get("/v1/instruments", params={"exchange": "SIM"})
    assert r.json() == [
        {"exchange": "sim", "symbol": "BTCUSDT", "base": "BTC", "quote": "USDT", "simulated": True}
    ]
    assert_problem(await client.get("/v1/instruments?exchange=nowhere"), "exchange", 404)


async def test_prices(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await store(
        runtime, "binance", "BTCUSDT", [Trade(7, T0, 100.0, 1.5), Trade(8, T0 + 1, 101.5, 2)]
    )
    await store(runtime, "binance", "ETHUSDT", [Trade(3, T0 + 5, 10.25, 1.0)])
    await store(runtime, "sim", "BTCUSDT", [Trade(1, T0 + 9, 99.0, 0.5)], simulated=True)
    assert runtime.writer is not None
    await runtime.writer.instrument_id(TradeBatch("binance", "SOLUSDT", ()))

    r = await client.get("/v1/prices")
    assert r.status_code == 200
    body = r.json()
    assert_times(body)
    assert [(p["exchange"], p["symbol"], p["price"], p["simulated"]) for p in body] == [
        ("binance", "BTCUSDT", 101.5, False),
        ("binance", "ETHUSDT", 10.25, False),
        ("sim", "BTCUSDT", 99.0, True),
    ]
    assert body[0] == {
        "exchange": "binance",
        "symbol": "BTCUSDT",
        "price": 101.5,
        "qty": 2.0,
        "trade_id": 8,
        "time": iso(T0 + 1),
        "simulated": False,
    }
    r = await client.get("/v1/prices", params={"symbol": "BTC-USDT"})
    assert [(p["exchange"], p["symbol"]) for p in r.json()] == [
        ("binance", "BTCUSDT"),
        ("sim", "BTCUSDT"),
    ]
    r = await client.get("/v1/prices", params={"exchange": "sim"})
    assert [p["price"] for p in r.json()] == [99.0]
    r = await client.get("/v1/prices", params={"exchange": "binance", "symbol": "ethusdt"})
    assert [p["price"] for p in r.json()] == [10.25]

    r = await client.get("/v1/prices/binance/BTC-USDT")
    assert r.status_code == 200
    assert r.json() == body[0]
    assert (await client.get("/v1/prices/sim/BTCUSDT/")).json()["simulated"] is True

    assert_problem(await client.get("/v1/prices/binance/SOLUSDT"), "symbol", 404)
    assert_problem(await client.get("/v1/prices/binance/DOGEUSDT"), "symbol", 404)
    assert_problem(await client.get("/v1/prices/kraken/BTCUSDT"), "exchange", 404)
    assert_problem(await client.get("/v1/prices?symbol=DOGEUSDT"), "symbol", 404)
    assert_problem(await client.get("/v1/prices?symbol=---"), "symbol", 400)
    assert_problem(await client.get("/v1/prices?exchange=kraken"), "exchange", 404)


async def test_snapshot(client: httpx.AsyncClient, runtime: Runtime) -> None:
    now = now_us()
    await store(
        runtime,
        "binance",
        "BTCUSDT",
        [
            Trade(1, now - 30 * HOUR, 50.0, 9.0),  # outside the 24 h
            Trade(2, now - 23 * HOUR, 100.0, 1.0),
            Trade(3, now - 2 * HOUR - 17 * S, 120.0, 2.0),
            Trade(4, now - 5 * MINUTE, 90.0, 0.5),
            Trade(5, now - 4 * MINUTE, 110.0, 0.25),
        ],
    )
    await store(runtime, "binance", "ETHUSDT", [Trade(1, now - 26 * HOUR, 3000.0, 1.0)])
    await store(runtime, "sim", "BTCUSDT", [Trade(1, now - HOUR, 99.0, 1.0)], simulated=True)

    r = await client.get("/v1/snapshot")
    assert r.status_code == 200
    body = r.json()
    assert_times(body)
    assert now <= us(body["generated_at"]) <= now_us()
    assert us(body["window_end"]) - us(body["window_start"]) == DAY
    items = {(i["exchange"], i["symbol"]): i for i in body["items"]}
    assert list(items) == [("binance", "BTCUSDT"), ("binance", "ETHUSDT"), ("sim", "BTCUSDT")]

    btc = items["binance", "BTCUSDT"]
    assert btc["price"] == 110.0
    assert btc["trade_id"] == 5
    assert btc["time"] == iso(now - 4 * MINUTE)
    assert btc["simulated"] is False
    assert btc["open_24h"] == 100.0
    assert btc["high_24h"] == 120.0
    assert btc["low_24h"] == 90.0
    assert btc["close_24h"] == 110.0
    assert btc["change_24h"] == pytest.approx(10.0)
    assert btc["change_pct_24h"] == pytest.approx(10.0)
    assert btc["volume_24h"] == pytest.approx(3.75)
    assert btc["quote_volume_24h"] == pytest.approx(100 + 240 + 45 + 27.5)
    assert btc["trade_count_24h"] == 4

    eth = items["binance", "ETHUSDT"]  # a price, but nothing in the last 24 h
    assert eth["price"] == 3000.0
    assert eth["open_24h"] is None
    assert eth["change_pct_24h"] is None
    assert eth["volume_24h"] == 0.0
    assert eth["trade_count_24h"] == 0

    assert items["sim", "BTCUSDT"]["simulated"] is True
    assert items["sim", "BTCUSDT"]["trade_count_24h"] == 1


# ------------------------------------------------------------------ trades


async def walk(client: httpx.AsyncClient, params: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(10_000):
        r = await client.get(
            "/v1/trades", params={**params, **({"cursor": cursor} if cursor else {})}
        )
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["items"]) <= params.get("limit", 500)
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("pagination does not end")


async def test_trades_pages_see_every_trade_once(
    client: httpx.AsyncClient, runtime: Runtime, btc: list[Trade]
) -> None:
    got = await walk(client, {"symbol": "BTCUSDT", "limit": 1000})
    want = sorted(btc, key=lambda t: (t.ts, t.trade_id))
    assert [t["trade_id"] for t in got] == [t.trade_id for t in want]
    assert got[0] == {
        "trade_id": want[0].trade_id,
        "time": iso(want[0].ts),
        "price": want[0].price,
        "qty": want[0].qty,
        "is_buyer_maker": want[0].is_buyer_maker,
    }
    assert_times(got)

    # small pages through the burst, where many trades share a time
    start, end = BURST_AT - S, BURST_AT + 10 * S
    params = {"symbol": "BTC-USDT", "exchange": "binance", "limit": 7}
    got = await walk(client, {**params, "start": iso(start), "end": str(end // 1000)})
    want_ids = [t.trade_id for t in want if start <= t.ts < end]
    assert len(want_ids) > 100
    assert [t["trade_id"] for t in got] == want_ids


async def test_trades_pagination_while_trades_arrive(
    client: httpx.AsyncClient, runtime: Runtime, btc: list[Trade]
) -> None:
    seen: list[int] = []
    params: dict[str, Any] = {"symbol": "BTCUSDT", "limit": 1000}
    r = await client.get("/v1/trades", params=params)
    page = r.json()
    seen += [t["trade_id"] for t in page["items"]]
    later = [Trade(100_000 + i, T0 + SPAN + i * S, 1.0, 1.0) for i in range(5)]
    await store(runtime, "binance", "BTCUSDT", later)
    cursor = page["next_cursor"]
    while cursor:
        page = (await client.get("/v1/trades", params={**params, "cursor": cursor})).json()
        seen += [t["trade_id"] for t in page["items"]]
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen)) == len(btc) + 5
    assert seen[-5:] == [t.trade_id for t in later]


async def test_trades_range_is_half_open(
    client: httpx.AsyncClient, runtime: Runtime, btc: list[Trade]
) -> None:
    a, b = btc[10], btc[20]
    r = await client.get(
        "/v1/trades", params={"symbol": "BTCUSDT", "start": iso(a.ts), "end": iso(b.ts)}
    )
    body = r.json()
    assert body["exchange"] == "binance"
    assert body["next_cursor"] is None
    assert [t["trade_id"] for t in body["items"]] == [t.trade_id for t in btc[10:20]]
    # naive ISO is UTC, offsets are honoured, epoch milliseconds work
    local = utc(a.ts).astimezone(ZoneInfo("Asia/Kolkata")).isoformat()
    for start in (utc(a.ts).replace(tzinfo=None).isoformat(), local, str(a.ts // 1000)):
        r = await client.get("/v1/trades", params={"symbol": "BTCUSDT", "start": start, "limit": 1})
        assert r.json()["items"][0]["trade_id"] == a.trade_id, start
    # an empty range is no error
    r = await client.get(
        "/v1/trades", params={"symbol": "BTCUSDT", "start": iso(a.ts), "end": iso(a.ts)}
    )
    assert r.json()["items"] == []


# ------------------------------------------------------------------ candles


CANDLE_CASES = [
    ("1m", None, fixed(MINUTE)),
    ("7m", None, fixed(7 * MINUTE)),
    ("1h", None, fixed(HOUR)),
    ("4h", None, fixed(4 * HOUR)),
    ("1d", None, fixed(DAY)),
    ("1d", "Europe/Paris", local_days("Europe/Paris")),
    ("1d", "America/New_York", local_days("America/New_York")),
    ("1w", "Asia/Tokyo", local_days("Asia/Tokyo", weeks=True)),
]


async def test_candles_match_the_trades(client: httpx.AsyncClient, btc: list[Trade]) -> None:
    for interval, tz, bucket in CANDLE_CASES:
        params: dict[str, str | int] = {
            "symbol": "BTCUSDT",
            "interval": interval,
            "start": iso(T0 - DAY),
            "end": iso(T0 + SPAN + DAY),
            "limit": 10_000,
        }
        if tz:
            params["tz"] = tz
        r = await client.get("/v1/candles", params=params)
        assert r.status_code == 200, (interval, tz, r.text)
        assert_times(r.json())
        check_candles(r.json(), reference(btc, bucket))


async def test_one_second_candles_from_trades(client: httpx.AsyncClient, btc: list[Trade]) -> None:
    start, end = BURST_AT - 20 * S, BURST_AT + 40 * S
    r = await client.get(
        "/v1/candles",
        params={"symbol": "BTCUSDT", "interval": "1s", "start": iso(start), "end": iso(end)},
    )
    assert r.status_code == 200
    want = reference([t for t in btc if start <= t.ts < end], fixed(S))
    assert any(c["trade_count"] > 10 for c in want.values())
    check_candles(r.json(), want)


async def test_candles_limit_and_default_window(
    client: httpx.AsyncClient, btc: list[Trade]
) -> None:
    async def starts(**params: Any) -> list[int]:
        r = await client.get("/v1/candles", params={"symbol": "BTCUSDT", **params})
        assert r.status_code == 200, r.text
        return [us(c["time"]) for c in r.json()]

    end = T0 + 10 * HOUR
    # without start: the newest `limit` buckets up to end
    assert await starts(interval="1h", end=iso(end), limit=3) == [
        end - 3 * HOUR,
        end - 2 * HOUR,
        end - HOUR,
    ]
    assert await starts(interval="1h", end=iso(end + S), limit=3) == [
        end - 2 * HOUR,
        end - HOUR,
        end,
    ]
    # with start: the oldest `limit` buckets from the one holding start
    assert await starts(interval="1h", start=iso(end + 30 * MINUTE), limit=2) == [
        end,
        end + HOUR,
    ]
    assert await starts(interval="1h", start=iso(end), end=iso(end + 9 * HOUR), limit=4) == [
        end + i * HOUR for i in range(4)
    ]
    paris = await starts(interval="1d", tz="Europe/Paris", end=iso(T0 + SPAN), limit=2)
    assert [utc(t).astimezone(ZoneInfo("Europe/Paris")).hour for t in paris] == [0, 0]
    assert len(paris) == 2
    # the largest windows, back from now and forward from a start, answer
    for interval in ("1s", "1m", "7m", "4h", "1d", "1w", "1M"):
        for extra in ({}, {"tz": "Pacific/Apia"}, {"start": iso(T0)}, {"end": "0"}):
            r = await client.get(
                "/v1/candles",
                params={"symbol": "BTCUSDT", "interval": interval, "limit": 10_000, **extra},
            )
            assert r.status_code == 200, (interval, extra, r.text)
            assert len(r.json()) <= 10_000


# ------------------------------------------------------------------ statistics, coverage


async def test_statistics(client: httpx.AsyncClient, btc: list[Trade]) -> None:
    start, end = T0 + 2 * HOUR, btc[700].ts
    r = await client.get(
        "/v1/statistics",
        params={"symbol": "BTCUSDT", "start": iso(start), "end": iso(end)},
    )
    assert r.status_code == 200
    body = r.json()
    assert_times(body)
    sel = sorted((t for t in btc if start <= t.ts < end), key=lambda t: (t.ts, t.trade_id))
    prices = [t.price for t in sel]
    volume = sum(t.qty for t in sel)
    quote = sum(t.price * t.qty for t in sel)
    want = {
        "count": len(sel),
        "open": prices[0],
        "close": prices[-1],
        "high": max(prices),
        "low": min(prices),
        "mean": pystats.fmean(prices),
        "median": pystats.median(prices),
        "std": pystats.pstdev(prices),
        "vwap": quote / volume,
        "volume": volume,
        "quote_volume": quote,
        "change_pct": (prices[-1] - prices[0]) / prices[0] * 100,
    }
    assert body["exchange"] == "binance"
    assert body["symbol"] == "BTCUSDT"
    assert body["start"] == iso(start)
    assert body["end"] == iso(end)
    for key, value in want.items():
        assert body[key] == pytest.approx(value, rel=1e-9), key
    assert btc[700].ts not in {t.ts for t in sel}

    r = await client.get(
        "/v1/statistics", params={"symbol": "BTCUSDT", "start": iso(T0 - DAY), "end": iso(T0)}
    )
    empty = r.json()
    assert empty["count"] == 0
    assert empty["mean"] is None
    assert empty["volume"] == 0.0

    r = await client.get("/v1/statistics", params={"symbol": "BTCUSDT"})
    assert r.status_code == 200
    body = r.json()
    assert us(body["end"]) - us(body["start"]) == DAY
    assert body["count"] == 0  # the stored trades are older than a day


async def test_coverage(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await store(
        runtime, "binance", "BTCUSDT", [Trade(i, T0 + i * S, 1.0, 1.0) for i in range(1, 101)]
    )
    await store(
        runtime, "binance", "BTCUSDT", [Trade(i, T0 + i * S, 1.0, 1.0) for i in range(110, 121)]
    )
    await store(
        runtime, "binance", "ETHUSDT", [Trade(i, T0 + i * S, 1.0, 1.0) for i in range(5, 9)]
    )

    r = await client.get("/v1/coverage", params={"symbol": "BTCUSDT"})
    assert r.status_code == 200
    assert r.json() == {
        "exchange": "binance",
        "symbol": "BTCUSDT",
        "ranges": [
            {"first_id": 1, "last_id": 100, "start": iso(T0 + S), "end": iso(T0 + 100 * S)},
            {"first_id": 110, "last_id": 120, "start": iso(T0 + 110 * S), "end": iso(T0 + 120 * S)},
        ],
        "gaps": [
            {
                "first_id": 101,
                "last_id": 109,
                "missing": 9,
                "after": iso(T0 + 100 * S),
                "before": iso(T0 + 110 * S),
            }
        ],
        "complete": False,
        "completeness": "ids",
        "note": r.json()["note"],
    }
    assert "consecutive" in r.json()["note"]
    r = await client.get("/v1/coverage", params={"symbol": "ETH-USDT", "exchange": "binance"})
    assert r.json()["complete"] is True
    assert r.json()["gaps"] == []


# ------------------------------------------------------------------ sources


async def test_sources(client: httpx.AsyncClient, runtime: Runtime) -> None:
    assert (await client.get("/v1/sources")).json() == []

    # without a tracker in this process: what the live hub heard on the bus
    assert runtime.live is not None
    await runtime.live.on_event("status.binance", SourceStatus("binance", SourceState.OFFLINE, "x"))
    assert [s["state"] for s in (await client.get("/v1/sources")).json()] == ["offline"]

    tracker = Tracker(runtime.bus)
    runtime.tracker = tracker
    await tracker.status(
        SourceStatus("binance", SourceState.CONNECTED, "stream open", last_trade_ts=T0)
    )
    await tracker.status(SourceStatus("sim", SourceState.SIMULATED, "simulated market"))
    r = await client.get("/v1/sources")
    assert r.status_code == 200
    body = r.json()
    assert_times(body)
    assert [
        (s["source"], s["state"], s["detail"], s["last_trade_time"], s["simulated"]) for s in body
    ] == [
        ("binance", "connected", "stream open", iso(T0), False),
        ("sim", "simulated", "simulated market", None, True),
    ]


# ------------------------------------------------------------------ bad input


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


BAD_REQUESTS = [
    ("/v1/trades", {}, "symbol"),
    ("/v1/trades", {"symbol": ""}, "symbol"),
    ("/v1/trades", {"symbol": "DOGEUSDT"}, "symbol"),
    ("/v1/trades", {"symbol": "BTCUSDT", "exchange": "kraken"}, "exchange"),
    ("/v1/trades", {"symbol": "BTCUSDT", "limit": "0"}, "limit"),
    ("/v1/trades", {"symbol": "BTCUSDT", "limit": "1001"}, "limit"),
    ("/v1/trades", {"symbol": "BTCUSDT", "limit": "ten"}, "limit"),
    ("/v1/trades", {"symbol": "BTCUSDT", "start": "yesterday"}, "start"),
    ("/v1/trades", {"symbol": "BTCUSDT", "end": "2026-13-01"}, "end"),
    ("/v1/trades", {"symbol": "BTCUSDT", "start": "2026-01-02", "end": "2026-01-01"}, "start"),
    ("/v1/trades", {"symbol": "BTCUSDT", "start": "99999999999999999"}, "start"),
    ("/v1/trades", {"symbol": "BTCUSDT", "start": "0001-01-01T00:00:00+05:00"}, "start"),
    ("/v1/trades", {"symbol": "BTCUSDT", "start": "3000-01-01"}, "start"),
    ("/v1/trades", {"symbol": "BTCUSDT", "end": "-5"}, "end"),
    ("/v1/trades", {"symbol": "BTCUSDT", "cursor": "!!!"}, "cursor"),
    ("/v1/trades", {"symbol": "BTCUSDT", "cursor": b64("x:1")}, "cursor"),
    ("/v1/trades", {"symbol": "BTCUSDT", "cursor": b64("1:99999999999999999999")}, "cursor"),
    ("/v1/trades", {"symbol": "BTCUSDT", "cursor": "é"}, "cursor"),
    ("/v1/trades", {"symbol": "BTCUSDT", "cursor": "a"}, "cursor"),
    ("/v1/candles", {"symbol": "BTCUSDT", "interval": "2x"}, "interval"),
    ("/v1/candles", {"symbol": "BTCUSDT", "interval": "0m"}, "interval"),
    ("/v1/candles", {"symbol": "BTCUSDT", "interval": "400d"}, "interval"),
    ("/v1/candles", {"symbol": "BTCUSDT", "tz": "Mars/Olympus"}, "tz"),
    ("/v1/candles", {"symbol": "BTCUSDT", "tz": "../../etc/passwd"}, "tz"),
    ("/v1/candles", {"symbol": "BTCUSDT", "limit": "10001"}, "limit"),
    ("/v1/candles", {"symbol": "BTCUSDT", "limit": "0"}, "limit"),
    ("/v1/candles", {"symbol": "BTCUSDT", "start": "2026-01-02", "end": "2026-01-01"}, "start"),
    ("/v1/candles", {"symbol": "BTCUSDT", "start": "soon"}, "start"),
    (
        "/v1/candles",
        {"symbol": "BTCUSDT", "interval": "1s", "start": "2025-01-01", "end": "2026-01-01"},
        "interval",
    ),
    ("/v1/candles", {"interval": "1m"}, "symbol"),
    ("/v1/statistics", {"symbol": "BTCUSDT", "start": "2026-01-02", "end": "2026-01-01"}, "start"),
    ("/v1/statistics", {"symbol": "BTCUSDT", "end": "2026-02-30"}, "end"),
    ("/v1/statistics", {"symbol": "NOPE"}, "symbol"),
    ("/v1/coverage", {"symbol": "NOPE"}, "symbol"),
    ("/v1/coverage", {"symbol": "BTCUSDT", "exchange": "nope"}, "exchange"),
    ("/v1/instruments", {"exchange": "nope"}, "exchange"),
    ("/v1/prices", {"symbol": "x" * 65}, "symbol"),
]


async def test_bad_input_is_a_problem_naming_the_field(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await store(runtime, "binance", "BTCUSDT", [Trade(1, T0, 1.0, 1.0)])
    for path, params, field in BAD_REQUESTS:
        r = await client.get(path, params=params)
        assert_problem(r, field)


async def test_a_plain_get_on_the_stream_explains_itself(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/stream")
    assert r.status_code == 426
    assert r.headers["content-type"].startswith(PROBLEM)
    assert r.headers["upgrade"] == "websocket"


# ------------------------------------------------------------------ documentation


async def test_openapi_describes_every_route(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    paths = spec["paths"]
    for path in (
        "/v1/exchanges",
        "/v1/instruments",
        "/v1/prices",
        "/v1/prices/{exchange}/{symbol}",
        "/v1/snapshot",
        "/v1/trades",
        "/v1/candles",
        "/v1/statistics",
        "/v1/coverage",
        "/v1/sources",
        "/v1/stream",
    ):
        op = paths[path]["get"]
        assert op["summary"], path
        assert op["responses"], path
        assert "400" in op["responses"], path
    ok = paths["/v1/candles"]["get"]["responses"]["200"]["content"]["application/json"]
    assert ok["schema"]["items"]["$ref"].endswith("/CandleOut")
    candle = spec["components"]["schemas"]["CandleOut"]
    assert candle["properties"]["time"]["format"] == "date-time"
    assert "subscribe" in paths["/v1/stream"]["get"]["description"]
    assert (await client.get("/docs")).status_code == 200
