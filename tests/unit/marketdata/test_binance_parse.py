"""Binance connector, pure parts: frames, REST items, symbols, backoff, request weight."""

from __future__ import annotations

import json
import random
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fixtures.clocks import FakeTime
from tickhub.marketdata.events import Trade
from tickhub.marketdata.ingest.binance.parse import KNOWN_QUOTES
from tickhub.marketdata.ingest.binance.rest import (
    BinanceRest,
    RestError,
    WeightBudget,
    backoff_delay,
    retry_after_s,
)
from tickhub.marketdata.ingest.binance.source import (
    FrameError,
    Notice,
    ParsedTrade,
    parse_frame,
    parse_rest_trade,
    split_symbol,
)

FRAMES = Path(__file__).resolve().parents[2] / "fixtures" / "binance_frames.jsonl"

GOOD_DATA: dict[str, object] = {
    "e": "trade",
    "E": 1672515782136,
    "s": "BTCUSDT",
    "t": 12345,
    "p": "0.001",
    "q": "100",
    "T": 1672515782136,
    "m": True,
    "M": True,
}
GOOD = {"stream": "btcusdt@trade", "data": GOOD_DATA}


def with_data(**changes: object) -> str:
    """The good frame with fields replaced, or removed when given `...`."""
    data = {k: v for k, v in (GOOD_DATA | changes).items() if v is not ...}
    return json.dumps({"stream": "btcusdt@trade", "data": data})


# -- WebSocket frames -----------------------------------------------------------------------


@pytest.mark.parametrize("raw", [json.dumps(GOOD), json.dumps(GOOD).encode()])
def test_trade_frame_is_normalised(raw: str | bytes) -> None:
    assert parse_frame(raw) == ParsedTrade(
        "BTCUSDT",
        Trade(
            trade_id=12345, ts=1_672_515_782_136_000, price=0.001, qty=100.0, is_buyer_maker=True
        ),
    )


def test_recorded_frames() -> None:
    parsed = [parse_frame(line) for line in FRAMES.read_text().splitlines() if line]
    trades = [p for p in parsed if isinstance(p, ParsedTrade)]
    assert [(t.symbol, t.trade.trade_id) for t in trades] == [
        ("BTCUSDT", 2441360000),
        ("BTCUSDT", 2441360001),
        ("ETHUSDT", 1033421117),
        ("BNBBTC", 212345678),
        ("BTCUSDT", 2441360002),
    ]
    assert trades[0].trade == Trade(2441360000, 1_672_515_782_134_000, 16547.43, 0.00604, True)
    assert parsed.count(None) == 2  # the subscription reply and the aggTrade event
    assert parsed[-1] is Notice.SERVER_SHUTDOWN


@pytest.mark.parametrize(
    "raw",
    [
        '{"result":null,"id":1}',
        '{"id":7,"error":{"code":2,"msg":"Invalid request"}}',
        '{"stream":"btcusdt@kline_1m","data":{"e":"kline","E":1,"s":"BTCUSDT","k":{}}}',
    ],
)
def test_valid_frames_that_are_not_trades_are_ignored(raw: str) -> None:
    assert parse_frame(raw) is None


@pytest.mark.parametrize(
    "raw",
    [
        '{"e":"serverShutdown","E":1}',
        '{"event":{"e":"serverShutdown","E":1}}',
        '{"stream":"btcusdt@trade","data":{"e":"serverShutdown","E":1}}',
    ],
)
def test_server_shutdown_notice(raw: str) -> None:
    assert parse_frame(raw) is Notice.SERVER_SHUTDOWN


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("not json", "invalid JSON"),
        (b"\xff\xfe", "invalid JSON"),
        ('{"stream":"btcusdt@trade","data":', "invalid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"hello":"world"}', "unrecognised message"),
        ('{"stream":"btcusdt@trade","data":[]}', "'data' object"),
        ('{"stream":"btcusdt@trade","data":{"s":"BTCUSDT"}}', "no event type"),
        (with_data(t=...), "'t'"),
        (with_data(t="12345"), "'t'"),
        (with_data(t=True), "'t'"),
        (with_data(t=-1), "'t'"),
        (with_data(T=1.5), "'T'"),
        (with_data(p="abc"), "'p'"),
        (with_data(p="NaN"), "'p'"),
        (with_data(p="0"), "'p'"),
        (with_data(p=1.5), "'p'"),
        (with_data(q="-3"), "'q'"),
        (with_data(q="inf"), "'q'"),
        (with_data(m="true"), "'m'"),
        (with_data(s=...), "'s'"),
        (with_data(s="ETHUSDT"), "does not match stream"),
    ],
)
def test_malformed_frames_are_rejected_with_a_reason(raw: str | bytes, reason: str) -> None:
    with pytest.raises(FrameError, match=reason.replace("[", r"\[")):
        parse_frame(raw)


# -- REST items -----------------------------------------------------------------------------

REST_ITEM = {
    "id": 28457,
    "price": "4.00000100",
    "qty": "12.00000000",
    "quoteQty": "48.000012",
    "time": 1499865549590,
    "isBuyerMaker": True,
    "isBestMatch": True,
}


def test_rest_trade_is_normalised() -> None:
    assert parse_rest_trade(REST_ITEM) == Trade(28457, 1_499_865_549_590_000, 4.000001, 12.0, True)


@pytest.mark.parametrize(
    "item",
    [
        [],
        {**REST_ITEM, "id": "28457"},
        {**REST_ITEM, "price": "x"},
        {**REST_ITEM, "isBuyerMaker": None},
        {k: v for k, v in REST_ITEM.items() if k != "time"},
    ],
)
def test_bad_rest_items_are_rejected(item: object) -> None:
    with pytest.raises(FrameError):
        parse_rest_trade(item)


# -- symbols --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("symbol", "pair"),
    [
        ("BTCUSDT", ("BTC", "USDT")),
        ("ethbtc", ("ETH", "BTC")),
        ("BNBBTC", ("BNB", "BTC")),
        ("BTCFDUSD", ("BTC", "FDUSD")),
        ("BTCUSDC", ("BTC", "USDC")),
        ("ETHEUR", ("ETH", "EUR")),
        ("BTCEURI", ("BTC", "EURI")),
        ("USDTTRY", ("USDT", "TRY")),
        ("SOLBRL", ("SOL", "BRL")),
        ("XRPBNB", ("XRP", "BNB")),
        ("USDT", None),
        ("JUPSOL", None),
        ("", None),
    ],
)
def test_split_symbol(symbol: str, pair: tuple[str, str] | None) -> None:
    assert split_symbol(symbol) == pair


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", max_size=12))
def test_split_symbol_keeps_every_letter(symbol: str) -> None:
    pair = split_symbol(symbol)
    if pair is not None:
        base, quote = pair
        assert base and base + quote == symbol
        fits = (q for q in KNOWN_QUOTES if symbol.endswith(q) and len(symbol) > len(q))
        assert quote == max(fits, key=len)


# -- backoff, Retry-After, weight -----------------------------------------------------------


def test_backoff_doubles_up_to_the_cap_with_jitter() -> None:
    rng = random.Random(1)
    for attempt in range(60):
        cap = min(60.0, 1.0 * 2**attempt)
        assert cap / 2 <= backoff_delay(attempt, 1.0, 60.0, rng) <= cap
    assert len({backoff_delay(3, 1.0, 60.0, rng) for _ in range(20)}) > 1


@pytest.mark.parametrize(
    ("header", "seconds"), [("1", 1.0), ("2.5", 2.5), (None, 60.0), ("soon", 60.0), ("-3", 60.0)]
)
def test_retry_after(header: str | None, seconds: float) -> None:
    assert retry_after_s(header) == seconds


def test_weight_budget_waits_for_the_next_minute() -> None:
    budget = WeightBudget(100)
    assert [budget.wait_time(25, 610.0) for _ in range(4)] == [0.0] * 4
    assert budget.wait_time(25, 615.0) == 45.0  # 100 used: wait until 660 s
    assert budget.wait_time(25, 660.0) == 0.0  # a new minute
    budget.observe(90, 661.0)  # other clients on this IP used more than we know
    assert budget.wait_time(25, 662.0) == 58.0
    budget.block(5.0, 700.0)  # a 429 said Retry-After: 5
    assert budget.wait_time(1, 701.0) == 4.0


def test_a_single_request_heavier_than_the_limit_still_goes() -> None:
    assert WeightBudget(10).wait_time(25, 0.0) == 0.0


def rest_with(
    *responses: httpx.Response, clock: FakeTime, bans: list[str | None] | None = None
) -> tuple[BinanceRest, list[httpx.Request]]:
    queue = list(responses)
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return queue.pop(0)

    async def on_ban(detail: str | None) -> None:
        assert bans is not None
        bans.append(detail)

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    rest = BinanceRest(
        client,
        "https://api.example",
        weight_limit_per_minute=100,
        backoff_initial_s=1.0,
        backoff_max_s=8.0,
        on_ban=on_ban,
        clock=clock,
        sleep=clock.sleep,
        rng=random.Random(0),
    )
    return rest, seen


def ok(body: object, weight: int = 25) -> httpx.Response:
    return httpx.Response(200, json=body, headers={"X-MBX-USED-WEIGHT-1M": str(weight)})


async def test_429_waits_retry_after_then_retries() -> None:
    clock = FakeTime(1_000_020.0)
    limited = httpx.Response(429, json={"code": -1003}, headers={"Retry-After": "3"})
    rest, seen = rest_with(limited, ok([REST_ITEM]), clock=clock)
    assert await rest.historical_trades("BTCUSDT", 28457, 1000) == [REST_ITEM]
    assert clock.sleeps == [3.0]
    assert len(seen) == 2
    assert dict(seen[1].url.params) == {"symbol": "BTCUSDT", "fromId": "28457", "limit": "1000"}


async def test_418_reports_the_ban_and_its_end() -> None:
    clock, bans = FakeTime(1_000_020.0), list[str | None]()
    banned = httpx.Response(418, json={"code": -1003}, headers={"Retry-After": "120"})
    rest, _ = rest_with(banned, ok([]), clock=clock, bans=bans)
    assert await rest.historical_trades("BTCUSDT", 1, 10) == []
    assert clock.sleeps == [120.0]
    assert len(bans) == 2
    assert bans[0] is not None
    assert "418" in bans[0]
    assert bans[1] is None


async def test_5xx_and_network_errors_back_off() -> None:
    clock = FakeTime(1_000_020.0)
    rest, seen = rest_with(httpx.Response(502), httpx.Response(503), ok({}), clock=clock)
    assert await rest.get_json("/api/v3/x", {}, weight=1) == {}
    assert len(seen) == 3
    assert 0.5 <= clock.sleeps[0] <= 1.0
    assert 1.0 <= clock.sleeps[1] <= 2.0


async def test_4xx_is_not_retried() -> None:
    clock = FakeTime(1_000_020.0)
    bad = httpx.Response(400, json={"code": -1121, "msg": "Invalid symbol."})
    rest, seen = rest_with(bad, clock=clock)
    with pytest.raises(RestError, match="400"):
        await rest.historical_trades("NOPE", 1, 10)
    assert len(seen) == 1
    assert clock.sleeps == []


async def test_attempts_run_out() -> None:
    clock = FakeTime(1_000_020.0)
    rest, seen = rest_with(httpx.Response(500), httpx.Response(500), clock=clock)
    with pytest.raises(RestError, match="HTTP 500"):
        await rest.exchange_info(["BTCUSDT"])
    assert len(seen) == 2


async def test_used_weight_header_holds_the_next_request_to_the_next_minute() -> None:
    clock = FakeTime(1_000_040.0)  # 20 s into a minute
    rest, _ = rest_with(ok([], weight=90), ok([], weight=25), clock=clock)
    await rest.historical_trades("BTCUSDT", 1, 10)
    await rest.historical_trades("BTCUSDT", 11, 10)  # 90 + 25 > 100
    assert clock.sleeps == [40.0]


async def test_exchange_info_gives_base_and_quote() -> None:
    clock = FakeTime(1_000_020.0)
    body = {
        "symbols": [
            {"symbol": "BTCUSDT", "baseAsset": "BTC", "quoteAsset": "USDT"},
            {"symbol": "BNBBTC", "baseAsset": "BNB", "quoteAsset": "BTC"},
        ]
    }
    rest, seen = rest_with(ok(body, 20), clock=clock)
    assert await rest.exchange_info(["BTCUSDT", "BNBBTC"]) == {
        "BTCUSDT": ("BTC", "USDT"),
        "BNBBTC": ("BNB", "BTC"),
    }
    assert seen[0].url.params["symbols"] == '["BTCUSDT","BNBBTC"]'
