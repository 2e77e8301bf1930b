"""The hot responses encoded in one step (orjson over plain dicts), in exactly the shapes
of their schemas (`PriceOut`, `CandleOut`), which still describe them in the OpenAPI
document: no per-row model validation on the way out."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import numpy as np
import orjson

from tickhub.marketdata.store.candles import Candle
from tickhub.marketdata.store.columns import CandleTable, Ints
from tickhub.marketdata.store.repository import Latest

_EPOCH = datetime(1970, 1, 1)  # noqa: DTZ001 - naive UTC, rendered with a `Z`


def time_text(ts: int) -> str:
    """`2026-11-23T15:34:07.123456Z`, as `common.time.format_time` renders it."""
    day, us = divmod(ts, _DAY)
    s, us = divmod(us, 1_000_000)
    m, s = divmod(s, 60)
    h, m = divmod(m, 60)
    return f"{_day_text(day)}T{h:02d}:{m:02d}:{s:02d}.{us:06d}Z"


_DAY = 86_400_000_000


@lru_cache(maxsize=8192)
def _day_text(day: int) -> str:
    return (_EPOCH + timedelta(days=day)).date().isoformat()


def price_dict(p: Latest) -> dict[str, Any]:
    i = p.instrument
    return {
        "exchange": i.exchange,
        "symbol": i.symbol,
        "price": p.price,
        "qty": p.qty,
        "trade_id": p.trade_id,
        "time": time_text(p.ts),
        "simulated": i.simulated,
    }


def price_json(p: Latest) -> bytes:
    return orjson.dumps(price_dict(p))


def prices_json(prices: Iterable[Latest]) -> bytes:
    return orjson.dumps([price_dict(p) for p in prices])


def candles_json(candles: Iterable[Candle]) -> bytes:
    return orjson.dumps(
        [
            {
                "time": time_text(c.start),
                "open": c.open,
                "high": c.high,
                "low": c.low,
                "close": c.close,
                "volume": c.volume,
                "quote_volume": c.quote_volume,
                "trade_count": c.trade_count,
                "vwap": c.quote_volume / c.volume if c.volume else None,
            }
            for c in candles
        ]
    )


def candle_table_json(t: CandleTable) -> bytes:
    """`candles_json` of columns, byte for byte: each column formatted at once (the
    times by numpy, the numbers by one `orjson.dumps` per column, cut at the commas: no
    JSON number holds one), then joined into the items, no dict per candle."""
    n = len(t)
    if not n:
        return b"[]"
    volume, quote = t.volume.tolist(), t.quote_volume.tolist()
    columns = zip(
        _time_texts(t.start),
        _numbers(t.open.tolist()),
        _numbers(t.high.tolist()),
        _numbers(t.low.tolist()),
        _numbers(t.close.tolist()),
        _numbers(volume),
        _numbers(quote),
        _numbers(t.trade_count.tolist()),
        _numbers([q / v if v else None for q, v in zip(quote, volume, strict=True)]),
        strict=True,
    )
    return b"[" + b",".join([_CANDLE % row for row in columns]) + b"]"


_CANDLE = (
    b'{"time":"%s","open":%s,"high":%s,"low":%s,"close":%s,"volume":%s,'
    b'"quote_volume":%s,"trade_count":%s,"vwap":%s}'
)


def _time_texts(start: Ints) -> list[bytes]:
    """`time_text` of each start, as bytes. Whole minutes (every rollup-backed candle)
    from a text per distinct day and one per minute of the day; others by numpy."""
    days, rem = np.divmod(start, _DAY)
    minutes, rest = np.divmod(rem, _MINUTE)
    if rest.any():
        texts = np.datetime_as_string(start.astype("datetime64[us]"), unit="us", timezone="UTC")
        found: list[bytes] = texts.astype("S").tolist()
        return found
    distinct, index = np.unique(days, return_inverse=True)
    day_texts = np.array([_day_text(d).encode() + b"T" for d in distinct.tolist()], dtype=object)
    whole: list[bytes] = (day_texts[index] + _MINUTE_TEXTS[minutes]).tolist()
    return whole


_MINUTE = 60_000_000
_MINUTE_TEXTS = np.array(
    [b"%02d:%02d:00.000000Z" % divmod(m, 60) for m in range(1440)], dtype=object
)


def _numbers(values: list[Any]) -> list[bytes]:
    """Each value as orjson writes it (one `dumps` for the column, cut at the commas)."""
    return orjson.dumps(values)[1:-1].split(b",")
