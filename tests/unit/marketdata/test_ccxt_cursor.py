"""How ccxt's unified trades become tickhub's: by venue id, or by time with own numbers."""

from __future__ import annotations

import pytest

from tickhub.marketdata.ingest.ccxt._cursor import Cursor
from tickhub.marketdata.ingest.engine import FrameError


def unified(
    ms: int, price: float = 10.0, tid: str | None = None, side: str = "buy"
) -> dict[str, object]:
    return {"id": tid, "timestamp": ms, "price": price, "amount": 1.5, "side": side}


def test_integer_ids_are_followed_by_id() -> None:
    cursor = Cursor(last_id=5)
    page = [unified(1000, tid=str(i)) for i in (7, 4, 6, 5)]
    assert [t.trade_id for t in cursor.take(page)] == [6, 7]
    assert cursor.by_id is True
    assert cursor.take(page) == []  # the same page again: nothing new
    assert cursor.since_ms == 1000
    assert cursor.skipped == 0
    assert [t.trade_id for t in cursor.take([unified(1001, tid="10")])] == [10]
    assert cursor.skipped == 2  # 8 and 9 never came: counted, not claimed


def test_without_ids_trades_are_numbered_by_time() -> None:
    cursor = Cursor(last_id=100)
    first = [unified(1000, 1.0), unified(1000, 1.0), unified(1001, 2.0)]  # two alike in 1 ms
    assert [(t.trade_id, t.ts) for t in cursor.take(first)] == [
        (101, 1_000_000),
        (102, 1_000_000),
        (103, 1_001_000),
    ]
    assert cursor.by_id is False
    # the next poll starts at the last millisecond: what was taken in it is not taken again
    again = [unified(1001, 2.0), unified(1001, 3.0), unified(1002, 2.0)]
    assert [t.trade_id for t in cursor.take(again)] == [104, 105]
    assert cursor.take([unified(999, 9.0)]) == []  # older than the cursor


def test_side_is_the_takers() -> None:
    taker_buy, taker_sell = Cursor().take([unified(1, tid="1"), unified(2, tid="2", side="sell")])
    assert (taker_buy.is_buyer_maker, taker_sell.is_buyer_maker) == (False, True)


@pytest.mark.parametrize(
    "item",
    [
        {"id": "1", "timestamp": None, "price": 1.0, "amount": 1.0, "side": "buy"},
        {"id": "1", "timestamp": 1, "price": -1.0, "amount": 1.0, "side": "buy"},
        {"id": "1", "timestamp": 1, "price": 1.0, "amount": float("nan"), "side": "buy"},
        {"id": "1", "timestamp": 1, "price": 1.0, "amount": 1.0, "side": "up"},
    ],
)
def test_unusable_trades_raise(item: dict[str, object]) -> None:
    with pytest.raises(FrameError):
        Cursor.check(item)


def test_a_venue_switching_id_kinds_is_an_error() -> None:
    cursor = Cursor()
    cursor.take([unified(1, tid="1")])
    with pytest.raises(FrameError):
        cursor.take([unified(2, tid="abc")])
