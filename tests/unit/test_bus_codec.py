from __future__ import annotations

import math

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tickhub.bus.codec import CODEC_VERSION, CodecError, decode, encode, message_type
from tickhub.marketdata.events import (
    CandleUpdate,
    RejectedFrame,
    SourceState,
    SourceStatus,
    Trade,
    TradeBatch,
)

i64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
finite = st.floats(allow_nan=False, allow_infinity=False)
words = st.text(max_size=20)

trades = st.builds(
    Trade,
    trade_id=i64,
    ts=i64,
    price=finite,
    qty=finite,
    is_buyer_maker=st.one_of(st.none(), st.booleans()),
)
batches = st.builds(
    TradeBatch,
    exchange=words,
    symbol=words,
    trades=st.lists(trades, max_size=50).map(tuple),
    base=words,
    quote=words,
    simulated=st.booleans(),
)
candles = st.builds(
    CandleUpdate,
    exchange=words,
    symbol=words,
    start=i64,
    open=finite,
    high=finite,
    low=finite,
    close=finite,
    volume=finite,
    quote_volume=finite,
    trade_count=i64,
)
statuses = st.builds(
    SourceStatus,
    source=words,
    state=st.sampled_from(SourceState),
    detail=st.text(),
    last_trade_ts=st.one_of(st.none(), i64),
    at=i64,
)
rejects = st.builds(RejectedFrame, source=words, raw=st.text(), error=st.text(), received_at=i64)
events = st.one_of(batches, candles, statuses, rejects)


@given(events)
def test_every_event_round_trips(event: object) -> None:
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
