"""Seed 004's price items (`{"id", "datetime", "symbol", "price"}`) as JSON text, built
from columns for the streamed statistics answer: no dict, no format call per price.

The bytes are those `orjson.dumps` writes for the same dicts (key order, no spaces, its
number formatting): the ids and prices are formatted by orjson itself, a whole column at
a time, and cut at the commas (no JSON number holds one); the datetimes are naive UTC at
whole seconds, as `crypto_ticker._seed_datetime` writes them.

Everything between an item's id and its price (`,"datetime":"…","symbol":…,"price":`)
has the same length for every item of a symbol, so it is written as one row of a byte
matrix: the constant text broadcast, the date looked up once per day, the time's digits
computed for the whole column. The pieces are then joined once. A date that is not
`YYYY-MM-DD` (a year outside 1–9999) takes the plain path, one item at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import lru_cache

import numpy as np
import numpy.typing as npt
import orjson

US = 1_000_000
DAY = 86_400
_EPOCH = datetime(1970, 1, 1)  # noqa: DTZ001 - naive UTC, as the seed wrote its times
_DIGITS = np.frombuffer(b"0123456789", dtype=np.uint8)

Ints = Sequence[int] | npt.NDArray[np.int64]
Floats = Sequence[float] | npt.NDArray[np.float64]


def second_texts(times: Ints) -> list[bytes]:
    """`YYYY-MM-DDTHH:MM:SS` (naive UTC, whole seconds, floored) of times in microseconds."""
    seconds = np.asarray(times, dtype=np.int64) // US
    texts = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s")
    found: list[bytes] = texts.astype("S").tolist()
    return found


@lru_cache(maxsize=4096)
def _day_text(day: int) -> bytes:
    """`YYYY-MM-DD` of a day since the epoch. A year outside 1–9999 does not fit a
    `datetime`: its text is then 11 bytes, which sends the column to the plain path."""
    try:
        return (_EPOCH + timedelta(days=day)).date().isoformat().encode()
    except OverflowError:
        return b"?" * 11


def _numbers(values: Ints | Floats) -> list[bytes]:
    """Each value as orjson writes it (one `dumps` for the column, cut at the commas)."""
    if not len(values):
        return []
    column = values.tolist() if isinstance(values, np.ndarray) else values
    return orjson.dumps(column)[1:-1].split(b",")


def _middles(symbol_json: bytes, times: Ints) -> list[bytes] | None:
    """`,"datetime":"YYYY-MM-DDTHH:MM:SS","symbol":<symbol>,"price":` of each time, or
    None when a date is not 10 bytes long."""
    seconds = np.asarray(times, dtype=np.int64) // US
    days, second = np.divmod(seconds, DAY)
    unique, where = np.unique(days, return_inverse=True)
    dates = [_day_text(int(d)) for d in unique.tolist()]
    if any(len(d) != 10 for d in dates):
        return None
    head, tail = b',"datetime":"', b'","symbol":' + symbol_json + b',"price":'
    width = len(head) + 19 + len(tail)
    out = np.empty((len(seconds), width), dtype=np.uint8)
    out[:, : len(head)] = np.frombuffer(head, dtype=np.uint8)
    at = len(head)
    date_rows = np.frombuffer(b"".join(dates), dtype=np.uint8).reshape(len(dates), 10)
    out[:, at : at + 10] = date_rows[where.reshape(-1)]
    out[:, at + 10] = ord("T")
    hour, rest = np.divmod(second, 3_600)
    minute, sec = np.divmod(rest, 60)
    for offset, part in ((11, hour), (14, minute), (17, sec)):
        out[:, at + offset] = _DIGITS[part // 10]
        out[:, at + offset + 1] = _DIGITS[part % 10]
    out[:, at + 13] = out[:, at + 16] = ord(":")
    out[:, at + 19 :] = np.frombuffer(tail, dtype=np.uint8)
    found: list[bytes] = out.view(f"S{width}").reshape(-1).tolist()
    return found


def price_items(symbol: str, ids: Ints, times: Ints, prices: Floats) -> bytes:
    """The items joined by commas, without the enclosing brackets: equal to
    `orjson.dumps([{"id": i, "datetime": t, "symbol": symbol, "price": p}, ...])[1:-1]`."""
    n = len(ids)
    if not n:
        return b""
    symbol_json = orjson.dumps(symbol)
    middles = _middles(symbol_json, times)
    if middles is None:
        return plain_price_items(symbol, ids, times, prices)
    parts: list[bytes] = [b'},{"id":'] * (4 * n)
    parts[0] = b'{"id":'
    parts[1::4] = _numbers(ids)
    parts[2::4] = middles
    parts[3::4] = _numbers(prices)
    parts.append(b"}")
    return b"".join(parts)


def plain_price_items(symbol: str, ids: Ints, times: Ints, prices: Floats) -> bytes:
    """`price_items` one item at a time (any date `numpy` can write)."""
    if not len(ids):
        return b""
    item = (
        b'{"id":%s,"datetime":"%s","symbol":'
        + orjson.dumps(symbol).replace(b"%", b"%%")
        + b',"price":%s}'
    )
    rows = zip(_numbers(ids), second_texts(times), _numbers(prices), strict=True)
    return b",".join([item % row for row in rows])
