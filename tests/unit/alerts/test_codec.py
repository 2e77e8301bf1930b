"""`AlertRaised` on the wire: an exact round trip, undefined values as null, and bodies
that are refused naming the field."""

from __future__ import annotations

import math
from dataclasses import replace

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tickhub.alerts.events import AlertRaised
from tickhub.bus.codec import CodecError
from tickhub.messages import message_codec

CODEC = message_codec()
encode, decode, message_type = CODEC.encode, CODEC.decode, CODEC.message_type

ALERT = AlertRaised(
    alert_id=42,
    user_id="3f1c2d7e-9b1a-4c55-8d0e-6a7b8c9d0e1f",
    strategy_id=7,
    strategy_name="RSI dip ✓",
    exchange="binance",
    symbol="BTCUSDT",
    interval="15m",
    candle_start=1_764_000_000_000_000,
    candle_close=1_764_000_900_000_000,
    condition="rsi(14) < 30 and close > sma(close, 50)",
    close=0.1 + 0.2,
    raised_at=1_764_000_902_345_678,
    values={"rsi(14)": 28.123456789012345, "close": 0.1 + 0.2, "sma(close, 50)": None},
)


def test_round_trip_is_exact() -> None:
    assert message_type(ALERT) == "alert_raised"
    assert decode(encode(ALERT)) == ALERT
    assert decode(encode(replace(ALERT, values={}))) == replace(ALERT, values={})


finite = st.floats(allow_nan=False, allow_infinity=False)


@given(
    close=finite,
    values=st.dictionaries(st.text(max_size=20), st.none() | finite, max_size=8),
    alert_id=st.integers(min_value=1, max_value=2**63 - 1),
)
def test_any_finite_alert_round_trips(
    close: float, values: dict[str, float | None], alert_id: int
) -> None:
    alert = replace(ALERT, close=close, values=values, alert_id=alert_id)
    assert decode(encode(alert)) == alert


def test_undefined_values_travel_as_null() -> None:
    alert = replace(ALERT, values={"rsi(14)": math.nan, "roc(close, 3)": math.inf})
    decoded = decode(encode(alert))
    assert isinstance(decoded, AlertRaised)
    assert decoded.values == {"rsi(14)": None, "roc(close, 3)": None}


def test_a_close_that_is_not_finite_cannot_be_encoded() -> None:
    with pytest.raises(CodecError, match="close"):
        encode(replace(ALERT, close=math.nan))


def _body(**changes: object) -> bytes:
    doc = orjson.loads(encode(ALERT))
    for key, value in changes.items():
        if value is ...:
            del doc[key]
        else:
            doc[key] = value
    return orjson.dumps(doc)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"alert_id": "42"}, "alert_id"),
        ({"user_id": ...}, "user_id"),
        ({"strategy_id": None}, "strategy_id"),
        ({"close": "1.0"}, "close"),
        ({"candle_start": 1.5}, "candle_start"),
        ({"values": [1, 2]}, "values"),
        ({"values": {"rsi(14)": "low"}}, "values"),
        ({"condition": ...}, "condition"),
    ],
)
def test_bad_bodies_are_refused_naming_the_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(CodecError, match=f"alert_raised: field '{field}'"):
        decode(_body(**changes))


def test_integer_numbers_are_read_as_floats() -> None:
    decoded = decode(_body(close=101, values={"close": 101}))
    assert isinstance(decoded, AlertRaised)
    assert type(decoded.close) is float and decoded.values == {"close": 101.0}
