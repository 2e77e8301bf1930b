"""`/v1/candles` written from columns is byte for byte what orjson writes for one dict
per candle (`candles_json`), awkward numbers included."""

from __future__ import annotations

import random

from tickhub.marketdata.encode import candle_table_json, candles_json
from tickhub.marketdata.store.candles import Candle
from tickhub.marketdata.store.columns import CandleTable

T = 1_711_843_200_000_000

AWKWARD = [
    0.00000001, 1e-8, 70000.5, 70000.0, 1.0, 0.0, 3.0, 123456789012.0, 1e16, 5e-324,
    0.1 + 0.2, 1 / 3, 12345.678901234567, 2.5e-5,
]  # fmt: skip


def _candle(start: int, *values: float) -> Candle:
    """A candle of (open, high, low, close, volume, quote volume) and a trade count."""
    o, h, lo, c, v, q, n = values
    return Candle(start, o, h, lo, c, v, q, int(n), 0, 0, 0, 0, 0.0, 0.0)


def test_awkward_numbers_and_a_zero_volume() -> None:
    rnd = random.Random(3)
    candles = [
        _candle(T + i * 60_000_000 + (123_456 if i % 3 else 0), *rnd.sample(AWKWARD, 4),
                AWKWARD[i % len(AWKWARD)] if i % 5 else 0.0, rnd.choice(AWKWARD), i * 7)
        for i in range(200)
    ]  # fmt: skip
    assert candle_table_json(CandleTable.of_candles(candles)) == candles_json(candles)


def test_random_candles_over_years() -> None:
    rnd = random.Random(11)
    candles = [
        _candle(rnd.randrange(0, 4_000_000_000) * 1_000_000 + rnd.randrange(1_000_000),
                *(round(rnd.uniform(0, 10 ** rnd.randrange(-8, 9)), rnd.randrange(0, 12))
                  for _ in range(6)), rnd.randrange(0, 10**9))
        for _ in range(3_000)
    ]  # fmt: skip
    candles.sort(key=lambda c: c.start)
    assert candle_table_json(CandleTable.of_candles(candles)) == candles_json(candles)


def test_no_candles() -> None:
    assert candle_table_json(CandleTable.of_candles([])) == candles_json([]) == b"[]"


def test_whole_minutes_over_centuries() -> None:
    """Rollup-backed candles start on whole minutes: their times are written from a text
    per day and one per minute of the day."""
    rnd = random.Random(5)
    last = 32_503_680_000 // 60  # 3000-01-01, in minutes
    minutes = sorted({0, 1439, 1440, last - 1, *(rnd.randrange(last) for _ in range(3_000))})
    candles = [_candle(m * 60_000_000, 1.0, 2.0, 0.5, 1.5, 0.25, 0.375, m % 9) for m in minutes]
    assert candle_table_json(CandleTable.of_candles(candles)) == candles_json(candles)
