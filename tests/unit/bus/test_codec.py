from __future__ import annotations

import dataclasses
import math
import typing
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tickhub.alerts.events import AlertRaised
from tickhub.bus.codec import CODEC_VERSION, Codec, CodecError, message_spec
from tickhub.market.events import SessionLaunched
from tickhub.marketdata.events import (
    CandleUpdate,
    CmcGlobalMetrics,
    CmcListing,
    CmcListings,
    CmcStored,
    RejectedFrame,
    SourceState,
    SourceStatus,
    Trade,
    TradeBatch,
)
from tickhub.messages import message_codec

CODEC = message_codec()
encode, decode, message_type = CODEC.encode, CODEC.decode, CODEC.message_type

i64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
finite = st.floats(allow_nan=False, allow_infinity=False)
words = st.text(max_size=20)
BY_ANNOTATION: dict[object, st.SearchStrategy[Any]] = {
    int: i64,
    int | None: st.none() | i64,
    float: finite,
    float | None: st.none() | finite,
    str: words,
    bool: st.booleans(),
    bool | None: st.none() | st.booleans(),
}


def of(cls: type, **special: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Instances of an event dataclass, each field drawn by its annotation unless given."""
    hints = typing.get_type_hints(cls)
    return st.builds(
        cls,
        **{
            f.name: special[f.name] if f.name in special else BY_ANNOTATION[hints[f.name]]
            for f in dataclasses.fields(cls)
        },
    )


batches = of(TradeBatch, trades=st.lists(of(Trade), max_size=50).map(tuple))
EVENTS = [
    batches,
    of(CandleUpdate),
    of(SourceStatus, state=st.sampled_from(SourceState), detail=st.text()),
    of(RejectedFrame, raw=st.text(), error=st.text()),
    of(CmcListings, listings=st.lists(of(CmcListing), max_size=20).map(tuple)),
    of(CmcGlobalMetrics),
    of(CmcStored, kind=st.sampled_from(["listings", "global"])),
    of(AlertRaised, values=st.dictionaries(words, st.none() | finite, max_size=8)),
]


@pytest.mark.parametrize(
    "events",
    EVENTS,
    ids=["trades", "candle", "status", "reject", "listings", "global", "stored", "alert"],
)
@given(data=st.data())
def test_every_event_round_trips(events: st.SearchStrategy[Any], data: st.DataObject) -> None:
    event = data.draw(events)
    body = encode(event)
    assert isinstance(body, bytes)
    assert decode(body) == event


@given(batches)
def test_trades_travel_as_compact_arrays_with_a_type_and_version(batch: TradeBatch) -> None:
    doc = orjson.loads(encode(batch))
    assert doc["v"] == CODEC_VERSION
    assert doc["type"] == "trade_batch" == message_type(batch)
    assert doc["trades"] == [
        [t.trade_id, t.ts, t.price, t.qty, t.is_buyer_maker] for t in batch.trades
    ]


def test_floats_and_negative_zero_are_exact() -> None:
    prices = [0.1, 1e-8, 65_432.123456789, 5e-324, 1.7976931348623157e308, -0.0]
    batch = TradeBatch("x", "S", tuple(Trade(i, i, p, p, None) for i, p in enumerate(prices)))
    back = decode(encode(batch))
    assert isinstance(back, TradeBatch)
    for t, p in zip(back.trades, prices, strict=True):
        assert t.price == p and math.copysign(1, t.price) == math.copysign(1, p)


def test_integer_prices_from_other_writers_read_as_floats() -> None:
    body = orjson.dumps(
        {
            "v": 1,
            "type": "trade_batch",
            "exchange": "x",
            "symbol": "S",
            "trades": [[1, 2, 3, 4, None]],
        }
    )
    back = decode(body)
    assert back == TradeBatch("x", "S", (Trade(1, 2, 3.0, 4.0, None),))
    assert isinstance(back, TradeBatch) and type(back.trades[0].price) is float


def test_unknown_fields_are_ignored_within_a_version() -> None:
    doc = orjson.loads(encode(RejectedFrame("binance", "{", "bad", received_at=5)))
    doc["later_field"] = [1, 2]
    assert decode(orjson.dumps(doc)) == RejectedFrame("binance", "{", "bad", received_at=5)


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        (b"", "not JSON"),
        (b"\x00\xff garbage", "not JSON"),
        (b"[1, 2]", "JSON list, not an object"),
        (b'{"type": "trade_batch"}', "unsupported format version None"),
        (b'{"v": 2, "type": "trade_batch"}', "unsupported format version 2"),
        (b'{"v": 1, "type": "order"}', "unknown message type 'order'"),
        (b'{"v": 1}', "unknown message type None"),
        (b'{"v": 1, "type": "trade_batch", "symbol": "S", "trades": []}', "'exchange': missing"),
        (
            b'{"v": 1, "type": "trade_batch", "exchange": "x", "symbol": "S", "trades": {}}',
            "'trades': expected an array, got dict",
        ),
        (
            b'{"v": 1, "type": "trade_batch", "exchange": "x", "symbol": "S", "trades": [[1, 2]]}',
            "item 0 is not [id, ts, price, qty, is_buyer_maker]",
        ),
        (
            b'{"v":1,"type":"trade_batch","exchange":"x","symbol":"S","trades":[[1,2,"3",4,null]]}',
            "item 0: price must be a number",
        ),
        (
            b'{"v":1,"type":"trade_batch","exchange":"x","symbol":"S","trades":[[1.5,2,3,4,null]]}',
            "item 0: id and ts must be integers",
        ),
        (
            b'{"v":1,"type":"trade_batch","exchange":"x","symbol":"S","trades":[[1,2,3,4,1]]}',
            "is_buyer_maker must be true, false or null",
        ),
        (
            b'{"v":1,"type":"source_status","source":"s","state":"sleeping","at":1}',
            "unknown state 'sleeping'",
        ),
        (
            b'{"v":1,"type":"source_status","source":"s","state":"connected","at":true}',
            "'at': expected an integer, got bool",
        ),
        (
            b'{"v":1,"type":"candle_update","exchange":"x","symbol":"S","start":0,"open":null}',
            "'open': expected a number, got null",
        ),
    ],
)
def test_garbled_or_unknown_bodies_raise_a_clear_error(body: bytes, complaint: str) -> None:
    with pytest.raises(CodecError) as info:
        decode(body)
    assert complaint in str(info.value)


@pytest.mark.parametrize(
    "message",
    [
        42,
        {"a": 1},
        TradeBatch("x", "S", (Trade(1, 2, math.nan, 1.0),)),
        TradeBatch("x", "S", (Trade(1, 2, 1.0, math.inf),)),
        TradeBatch("x", "S", (Trade(2**64, 2, 1.0, 1.0),)),
        CandleUpdate("x", "S", 0, 1.0, 1.0, 1.0, math.nan, 1.0, 1.0, 1),
    ],
)
def test_what_cannot_travel_is_refused_at_encode(message: object) -> None:
    with pytest.raises(CodecError):
        encode(message)


def _listing(**overrides: object) -> CmcListing:
    values: dict[str, object] = {
        "cmc_id": 5426,
        "symbol": "SOL",
        "name": "Solana",
        "slug": "solana",
        "rank": 5,
        "price": 0.1 + 0.2,
        "volume_24h": 2.5e9,
        "market_cap": None,
        "percent_change_1h": -0.0,
        "percent_change_24h": 5e-324,
        "percent_change_7d": 1.7976931348623157e308,
        "circulating_supply": None,
        "total_supply": None,
        "max_supply": None,
        "last_updated": 1_700_000_000_000_000,
    }
    return CmcListing(**{**values, **overrides})  # type: ignore[arg-type]


def test_cmc_events_have_topics_types_and_exact_floats() -> None:
    listings = CmcListings(1_700_000_040_000_000, "USD", (_listing(), _listing(cmc_id=1)))
    assert listings.topic == "cmc.listings" and message_type(listings) == "cmc_listings"
    back = decode(encode(listings))
    assert back == listings
    assert isinstance(back, CmcListings)
    first = back.listings[0]
    assert first.price == 0.1 + 0.2
    assert first.percent_change_1h is not None
    assert math.copysign(1, first.percent_change_1h) == -1.0
    metrics = CmcGlobalMetrics(60_000_000, "EUR", 9000, 51.23, 17.1, None, 6.1e10, 5)
    assert metrics.topic == "cmc.global" and decode(encode(metrics)) == metrics
    stored = CmcStored("global", 60_000_000)
    assert stored.topic == "stored.cmc.global" and decode(encode(stored)) == stored


@pytest.mark.parametrize(
    ("doc", "complaint"),
    [
        ({"minute": 1, "convert": "USD", "listings": {}}, "'listings': expected an array"),
        ({"minute": 1, "convert": "USD", "listings": [5]}, "item 0 is not an object"),
        ({"convert": "USD", "listings": []}, "'minute': missing"),
        (
            {"minute": 1, "convert": "USD", "listings": [{"symbol": "X"}]},
            "listings item 0: field 'cmc_id': missing",
        ),
        (
            {
                "minute": 1,
                "convert": "USD",
                "listings": [{"cmc_id": 1, "symbol": "X", "name": "x", "last_updated": 1,
                              "price": "1.5"}],
            },
            "field 'price': expected a number or null, got str",
        ),
    ],
)  # fmt: skip
def test_garbled_cmc_listings_name_the_field(doc: dict[str, object], complaint: str) -> None:
    with pytest.raises(CodecError) as info:
        decode(orjson.dumps({"v": 1, "type": "cmc_listings", **doc}))
    assert complaint in str(info.value)


def test_garbled_cmc_global_and_stored_name_the_field() -> None:
    with pytest.raises(CodecError, match="'btc_dominance': expected a number, got null"):
        decode(
            orjson.dumps(
                {"v": 1, "type": "cmc_global_metrics", "minute": 1, "convert": "USD",
                 "active_cryptocurrencies": 1, "btc_dominance": None, "eth_dominance": 1.0,
                 "last_updated": 1}
            )
        )  # fmt: skip
    with pytest.raises(CodecError, match="'kind': expected 'listings' or 'global'"):
        decode(orjson.dumps({"v": 1, "type": "cmc_stored", "kind": "trades", "minute": 1}))


@pytest.mark.parametrize(
    "message",
    [
        CmcListings(1, "USD", (_listing(price=math.nan),)),
        CmcListings(1, "USD", (_listing(market_cap=math.inf),)),
        CmcGlobalMetrics(1, "USD", 1, math.nan, 1.0, None, None, 1),
        CmcGlobalMetrics(1, "USD", 1, 1.0, 1.0, -math.inf, None, 1),
    ],
)
def test_non_finite_cmc_values_are_refused_at_encode(message: object) -> None:
    with pytest.raises(CodecError):
        encode(message)


# Bodies byte for byte as version 1 writes them: readers elsewhere (other processes, other
# versions of tickhub, messages waiting in a queue) rely on them.
_SOL = CmcListing(
    5426, "SOL", "Solana ✓", "solana", None, 0.1 + 0.2, 2.5e9, None, -0.0, 5e-324,
    1.7976931348623157e308, 1e21, None, 1e-7, 1_700_000_000_000_000,
)  # fmt: skip
BODIES = [
    (
        TradeBatch(
            "binance",
            "BTCUSDT",
            (Trade(1, 1_700_000_000_000_001, 65432.1, 0.001, True), Trade(2, 2, 1e-8, 3.0, None)),
            "BTC",
            "USDT",
            False,
        ),
        b'{"v":1,"type":"trade_batch","exchange":"binance","symbol":"BTCUSDT","base":"BTC",'
        b'"quote":"USDT","simulated":false,"trades":[[1,1700000000000001,65432.1,0.001,true],'
        b'[2,2,1e-8,3.0,null]]}',
    ),
    (
        CandleUpdate("sim", "ETHUSDT", 60_000_000, 1.0, 2.5, 0.5, 2.0, 10.0, 20.0, 7),
        b'{"v":1,"type":"candle_update","exchange":"sim","symbol":"ETHUSDT","start":60000000,'
        b'"open":1.0,"high":2.5,"low":0.5,"close":2.0,"volume":10.0,"quote_volume":20.0,'
        b'"trade_count":7}',
    ),
    (
        SourceStatus("binance", SourceState.RECONNECTING, 'lost "socket"', None, 5),
        b'{"v":1,"type":"source_status","source":"binance","state":"reconnecting",'
        b'"detail":"lost \\"socket\\"","last_trade_ts":null,"at":5}',
    ),
    (
        RejectedFrame("binance", '{"e":', "bad\njson", 9),
        b'{"v":1,"type":"rejected_frame","source":"binance","raw":"{\\"e\\":",'
        b'"error":"bad\\njson","received_at":9}',
    ),
    (
        CmcListings(1_700_000_040_000_000, "USD", (_SOL,)),
        b'{"v":1,"type":"cmc_listings","minute":1700000040000000,"convert":"USD",'
        b'"listings":[{"cmc_id":5426,"symbol":"SOL","name":"Solana \xe2\x9c\x93",'
        b'"slug":"solana","rank":null,"price":0.30000000000000004,"volume_24h":2500000000.0,'
        b'"market_cap":null,"percent_change_1h":-0.0,"percent_change_24h":5e-324,'
        b'"percent_change_7d":1.7976931348623157e+308,"circulating_supply":1e+21,'
        b'"total_supply":null,"max_supply":1e-7,"last_updated":1700000000000000}]}',
    ),
    (
        CmcGlobalMetrics(60_000_000, "EUR", 9000, 51.23, 17.1, None, 6.1e10, 5),
        b'{"v":1,"type":"cmc_global_metrics","minute":60000000,"convert":"EUR",'
        b'"active_cryptocurrencies":9000,"btc_dominance":51.23,"eth_dominance":17.1,'
        b'"total_market_cap":null,"total_volume_24h":61000000000.0,"last_updated":5}',
    ),
    (
        CmcStored("listings", 60_000_000),
        b'{"v":1,"type":"cmc_stored","kind":"listings","minute":60000000}',
    ),
    (
        AlertRaised(
            42, "u-1", 7, "RSI dip ✓", "binance", "BTCUSDT", "15m", 1, 2, "rsi(14) < 30",
            0.1 + 0.2, 3, {"rsi(14)": 28.5, "x": None, "y": math.nan},
        ),
        b'{"v":1,"type":"alert_raised","alert_id":42,"user_id":"u-1","strategy_id":7,'
        b'"strategy_name":"RSI dip \xe2\x9c\x93","exchange":"binance","symbol":"BTCUSDT",'
        b'"interval":"15m","candle_start":1,"candle_close":2,"condition":"rsi(14) < 30",'
        b'"close":0.30000000000000004,"raised_at":3,"values":{"rsi(14)":28.5,"x":null,'
        b'"y":null}}',
    ),
    (
        SessionLaunched(3, 1_700_000_000_000_000),
        b'{"v":1,"type":"market_session_launched","session_id":3,"launched_at":1700000000000000}',
    ),
]  # fmt: skip


@pytest.mark.parametrize(("event", "body"), BODIES, ids=[type(e).__name__ for e, _ in BODIES])
def test_bodies_are_byte_for_byte_those_of_version_1(event: object, body: bytes) -> None:
    assert encode(event) == body


@dataclasses.dataclass(frozen=True, slots=True)
class Ping:
    n: int
    note: str = ""


def test_a_codec_knows_the_messages_it_is_built_from_and_no_others() -> None:
    codec = Codec(message_spec(Ping, "ping"))
    assert codec.types == ("ping",)
    assert codec.encode(Ping(3, "x")) == b'{"v":1,"type":"ping","n":3,"note":"x"}'
    assert codec.decode(b'{"v":1,"type":"ping","n":3}') == Ping(3)
    with pytest.raises(CodecError, match="cannot encode a TradeBatch"):
        codec.encode(TradeBatch("x", "S", ()))
    with pytest.raises(CodecError, match="unknown message type 'trade_batch'"):
        codec.decode(encode(TradeBatch("x", "S", ())))


def test_a_message_declared_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="declared twice"):
        Codec(message_spec(Ping, "ping"), message_spec(Ping, "pong"))
    with pytest.raises(ValueError, match="declared twice"):
        Codec(message_spec(Ping, "ping"), message_spec(CmcStored, "ping"))


def test_the_codec_of_tickhub_knows_every_context_message() -> None:
    assert CODEC.types == (
        "trade_batch",
        "candle_update",
        "source_status",
        "rejected_frame",
        "cmc_listings",
        "cmc_global_metrics",
        "cmc_stored",
        "alert_raised",
        "market_session_launched",
    )
