"""Seed 004's price items (`{"id", "datetime", "symbol", "price"}`) as JSON text, built
from columns for the streamed statistics answer: no dict per price.

The bytes are those `orjson.dumps` writes for the same dicts (key order, no spaces, its
number formatting): the ids and prices are formatted by orjson itself, a whole column at
a time, and cut at the commas (no JSON number holds one); the datetimes are naive UTC at
whole seconds, as `crypto_ticker._seed_datetime` writes them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import orjson

US = 1_000_000


def second_texts(times: Sequence[int]) -> list[bytes]:
    """`YYYY-MM-DDTHH:MM:SS` (naive UTC, whole seconds, floored) of times in microseconds."""
    seconds = np.array(times, dtype=np.int64) // US
    texts = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s")
    found: list[bytes] = texts.astype("S").tolist()
    return found


def _numbers(values: Sequence[int] | Sequence[float]) -> list[bytes]:
    """Each value as orjson writes it (one `dumps` for the column, cut at the commas)."""
    return orjson.dumps(values)[1:-1].split(b",") if len(values) else []


def price_items(
    symbol: str, ids: Sequence[int], times: Sequence[int], prices: Sequence[float]
) -> bytes:
    """The items joined by commas, without the enclosing brackets: equal to
    `orjson.dumps([{"id": i, "datetime": t, "symbol": symbol, "price": p}, ...])[1:-1]`."""
    if not ids:
        return b""
    item = (
        b'{"id":%s,"datetime":"%s","symbol":'
        + orjson.dumps(symbol).replace(b"%", b"%%")
        + b',"price":%s}'
    )
    rows = zip(_numbers(ids), second_texts(times), _numbers(prices), strict=True)
    return b",".join([item % row for row in rows])
