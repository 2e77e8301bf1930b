"""Seed 004's price items (`{"id", "datetime", "symbol", "price"}`) as JSON text, built
from columns for the streamed statistics answer: no dict, no format call per price.

The bytes are those `orjson.dumps` writes for the same dicts (key order, no spaces, its
number formatting): the ids and prices are formatted by orjson itself, a whole column at
a time, and cut at the commas (no JSON number holds one); the datetimes are naive UTC at
whole seconds, as `crypto_ticker._seed_datetime` writes them.

Everything between an item's id and its price (`,"datetime":"…","symbol":…,"price":`)
has the same length for every item of a symbol, so it is written as one row of a byte
matrix: the constant text broadcast, the date looked up once per day, the time's digits
computed for the whole column. When the ids all have the same number of digits (the
usual case: a window's trade ids are close to each other), their digits go into the same
row, after `},{"id":`, so an item is two pieces, its row and its price. The pieces are
then joined once. A date that is not
`YYYY-MM-DD` (a year outside 1–9999) takes the plain path, one item at a time.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from itertools import pairwise
from typing import Literal, overload

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


CHUNK = 10_000
"""Items encoded at a time (`price_pieces`)."""
_OPEN = b'},{"id":'
"""What comes before every item's id but the first's."""


def _id_digits(ids: Ints) -> tuple[npt.NDArray[np.int64], int] | None:
    """The ids as a column and their number of digits, when every id has the same (and
    none is negative): they can then be written into the byte matrix too."""
    column = np.asarray(ids, dtype=np.int64)
    lo, hi = int(column.min()), int(column.max())
    digits = len(str(hi))
    return (column, digits) if lo >= 0 and len(str(lo)) == digits else None


def _rows(
    symbol_json: bytes, times: Ints, ids: tuple[npt.NDArray[np.int64], int] | None
) -> list[bytes] | None:
    """`,"datetime":"YYYY-MM-DDTHH:MM:SS","symbol":<symbol>,"price":` of each time, or
    None when a date is not 10 bytes long. With `ids` (`_id_digits`), each row starts
    with `},{"id":<id>` instead."""
    seconds = np.asarray(times, dtype=np.int64) // US
    days, second = np.divmod(seconds, DAY)
    unique, where = np.unique(days, return_inverse=True)
    dates = [_day_text(int(d)) for d in unique.tolist()]
    if any(len(d) != 10 for d in dates):
        return None
    lead = b"" if ids is None else _OPEN + b"0" * ids[1]
    head, tail = lead + b',"datetime":"', b'","symbol":' + symbol_json + b',"price":'
    width = len(head) + 19 + len(tail)
    out = np.empty((len(seconds), width), dtype=np.uint8)
    out[:, : len(head)] = np.frombuffer(head, dtype=np.uint8)
    if ids is not None:
        rest_of_ids = ids[0]
        for k in range(len(lead) - 1, len(_OPEN) - 1, -1):  # the id's digits, last first
            rest_of_ids, digit = np.divmod(rest_of_ids, 10)
            out[:, k] = _DIGITS[digit]
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
    return price_pieces(symbol, ids, times, prices, ())[0]


def price_pieces(
    symbol: str, ids: Ints, times: Ints, prices: Floats, cuts: Sequence[int]
) -> list[bytes]:
    """`price_items` of the items cut before each index of `cuts` (ascending, within
    0..n): len(cuts) + 1 pieces, each its items joined by commas (b"" when it has none).
    Encoded `CHUNK` items at a time, so that the matrix and the pieces of text per item
    never exist for more than that many items at once (100,000 items at once: 45 MB)."""
    n = len(ids)
    if n <= CHUNK:
        return _pieces(symbol, ids, times, prices, cuts)
    bounds = [0, *cuts, n]
    found: list[list[bytes]] = [[] for _ in range(len(bounds) - 1)]
    for c0 in range(0, n, CHUNK):
        c1 = min(c0 + CHUNK, n)
        first = bisect_right(bounds, c0) - 1  # the piece holding item c0
        last = bisect_left(bounds, c1) - 1  # the last piece starting before c1
        local = [b - c0 for b in bounds[first + 1 : last + 1]]
        texts = _pieces(symbol, ids[c0:c1], times[c0:c1], prices[c0:c1], local)
        for i, text in enumerate(texts, first):
            if text:
                found[i].append(text)
    return [b",".join(parts) for parts in found]


def _pieces(
    symbol: str, ids: Ints, times: Ints, prices: Floats, cuts: Sequence[int]
) -> list[bytes]:
    """`price_pieces`, encoded in one go."""
    n = len(ids)
    bounds = [0, *cuts, n]
    if not n:
        return [b""] * (len(cuts) + 1)
    id_digits = _id_digits(ids)  # the usual case: the ids go into the matrix too
    rows = _rows(orjson.dumps(symbol), times, id_digits)
    if rows is None:
        items = plain_price_items(symbol, ids, times, prices, joined=False)
        return [b",".join(items[a:b]) for a, b in pairwise(bounds)]
    if id_digits is not None:  # each item: its row (`},{"id":…"price":`), its price
        per = 2
        parts = [b""] * (2 * n)
        parts[0::2] = rows
        parts[1::2] = _numbers(prices)
    else:  # each item: the opening, its id, its row, its price
        per = 4
        parts = [_OPEN] * (4 * n)
        parts[1::4] = _numbers(ids)
        parts[2::4] = rows
        parts[3::4] = _numbers(prices)
    pieces = []
    for a, b in pairwise(bounds):
        if a == b:
            pieces.append(b"")
            continue
        # an item's `}` is in the next one's opening; the whole list needs no copy
        piece = parts if b - a == n else parts[per * a : per * b]
        piece[0] = piece[0][len(b"},") :] if per == 2 else b'{"id":'
        piece.append(b"}")
        pieces.append(b"".join(piece))
    return pieces


@overload
def plain_price_items(
    symbol: str, ids: Ints, times: Ints, prices: Floats, *, joined: Literal[True] = True
) -> bytes: ...
@overload
def plain_price_items(
    symbol: str, ids: Ints, times: Ints, prices: Floats, *, joined: Literal[False]
) -> list[bytes]: ...
def plain_price_items(
    symbol: str, ids: Ints, times: Ints, prices: Floats, *, joined: bool = True
) -> bytes | list[bytes]:
    """`price_items` one item at a time (any date `numpy` can write); each item apart
    unless `joined`."""
    item = (
        b'{"id":%s,"datetime":"%s","symbol":'
        + orjson.dumps(symbol).replace(b"%", b"%%")
        + b',"price":%s}'
    )
    rows = zip(_numbers(ids), second_texts(times), _numbers(prices), strict=True)
    items = [item % row for row in rows]
    return b",".join(items) if joined else items
