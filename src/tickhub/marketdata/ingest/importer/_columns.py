"""Which file column feeds which `Trade` field, and converting rows and batches."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import repeat
from operator import itemgetter
from pathlib import Path
from typing import Any, Final

import pyarrow as pa

from tickhub.marketdata.events import Trade
from tickhub.marketdata.ingest.importer._values import (
    ImportFormatError,
    _fast_float,
    _fast_id,
    _fast_ts,
    _fast_words,
    _parse_id,
    _parse_maker,
    _parse_maker_side,
    _parse_price,
    _parse_qty,
    _parse_taker_side,
    _parse_ts,
)

# --- column layout ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Column:
    field: str  # id, ts, price, qty, maker: Trade's positional order
    key: int | str  # index in a CSV row, or name in a JSON object / Parquet schema
    name: str  # as spelled in the file, for errors
    parse: Callable[[Any], Any]
    fast: Callable[[Any], list[Any] | None]


_ParseFast = tuple[Callable[[Any], Any], Callable[[Any], list[Any] | None]]
_CONVERTERS: Final[dict[str, _ParseFast]] = {
    "id": (_parse_id, _fast_id),
    "ts": (_parse_ts, _fast_ts),
    "price": (_parse_price, partial(_fast_float, allow_zero=False)),
    "qty": (_parse_qty, partial(_fast_float, allow_zero=True)),
    "maker": (_parse_maker, _fast_words(("true", "1"), ("false", "0"))),
    "taker_side": (_parse_taker_side, _fast_words(("sell", "s"), ("buy", "b"))),
    "maker_side": (_parse_maker_side, _fast_words(("buy", "b"), ("sell", "s"))),
}
# field -> aliases in order of preference, each with the converter it implies
_ALIASES: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "id": (("id", "id"), ("trade_id", "id"), ("t", "id")),
    "ts": tuple(
        (alias, "ts") for alias in ("time", "timestamp", "ts", "trade_time", "datetime", "T")
    ),
    "price": (("price", "price"), ("p", "price")),
    "qty": tuple((alias, "qty") for alias in ("qty", "quantity", "amount", "size", "q")),
    "maker": (
        ("is_buyer_maker", "maker"),
        ("m", "maker"),
        ("side", "taker_side"),
        ("taker_side", "taker_side"),
        ("maker_side", "maker_side"),
    ),
}
_FIELD_NAMES: Final = {"id": "trade id", "ts": "time", "price": "price", "qty": "quantity"}
# headerless Binance trades: id, price, qty, quoteQty, time, isBuyerMaker, isBestMatch
_BINANCE: Final = (
    ("id", 0, "id"),
    ("ts", 4, "time"),
    ("price", 1, "price"),
    ("qty", 2, "qty"),
    ("maker", 5, "isBuyerMaker"),
)


def _column(field: str, key: int | str, name: str, converter: str) -> _Column:
    parse, fast = _CONVERTERS[converter]
    return _Column(field, key, name, parse, fast)


def _binance_layout() -> list[_Column]:
    return [_column(field, index, name, field) for field, index, name in _BINANCE]


def _norm(name: str) -> str:
    name = name.strip()
    return name if len(name) == 1 else re.sub(r"[\s_-]", "", name).lower()


def _resolve(names: Sequence[str], *, by_index: bool) -> list[_Column]:
    """Pick the file's columns for each Trade field; ValueError names what is missing."""
    found: dict[str, list[int]] = {}
    for index, name in enumerate(names):
        found.setdefault(_norm(name), []).append(index)
    columns: list[_Column] = []
    for field, aliases in _ALIASES.items():
        for alias, converter in aliases:
            hits = found.get(_norm(alias), [])
            if len(hits) > 1:
                raise ValueError(f"column {names[hits[0]]!r} appears {len(hits)} times")
            if hits:
                name = names[hits[0]]
                columns.append(_column(field, hits[0] if by_index else name, name, converter))
                break
        else:
            if field != "maker":
                wanted = ", ".join(alias for alias, _ in aliases)
                what = _FIELD_NAMES[field]
                raise ValueError(f"no {what} column (one of: {wanted}); columns are {names}")
    return columns


# --- converting rows and batches ----------------------------------------------------------


class _ColumnError(Exception):
    def __init__(self, index: int, column: str, reason: str) -> None:
        super().__init__(reason)
        self.index, self.column, self.reason = index, column, reason


def _column_values(arr: Any, column: _Column) -> list[Any]:
    if pa.types.is_dictionary(arr.type):  # e.g. a categorical `side` written by pandas
        arr = arr.dictionary_decode()
    if pa.types.is_timestamp(arr.type):
        arr = arr.cast(pa.timestamp("us", tz=arr.type.tz), safe=False)
    values = column.fast(arr)
    if values is not None:
        return values
    raw = arr.to_pylist()
    parse = column.parse
    try:
        return [parse(value) for value in raw]
    except ValueError:
        for index, value in enumerate(raw):
            try:
                parse(value)
            except ValueError as exc:
                raise _ColumnError(index, column.name, str(exc)) from None
        raise


def _batch_to_trades(batch: Any, columns: Sequence[_Column], names: Sequence[str]) -> list[Trade]:
    values = [_column_values(batch.column(n), c) for c, n in zip(columns, names, strict=True)]
    makers: Iterable[Any] = values[4] if len(values) == 5 else repeat(None)
    return list(map(Trade, values[0], values[1], values[2], values[3], makers))


def _rows_to_trades(
    rows: Iterable[Any],
    columns: Sequence[_Column],
    batch_size: int,
    error: Callable[[Any, Sequence[_Column]], ImportFormatError],
) -> Iterator[list[Trade]]:
    get = itemgetter(*(c.key for c in columns))
    parse_id, parse_ts, parse_price, parse_qty = (c.parse for c in columns[:4])
    parse_maker = columns[4].parse if len(columns) == 5 else None
    chunk: list[Trade] = []
    for row in rows:
        try:
            v = get(row)
            maker = parse_maker(v[4]) if parse_maker else None
            trade = Trade(parse_id(v[0]), parse_ts(v[1]), parse_price(v[2]), parse_qty(v[3]), maker)
        except (ValueError, LookupError):
            raise error(row, columns) from None
        chunk.append(trade)
        if len(chunk) >= batch_size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _row_error(path: Path, line_no: int, row: Any, columns: Sequence[_Column]) -> ImportFormatError:
    for c in columns:
        try:
            c.parse(row[c.key])
        except LookupError:
            return ImportFormatError(path, line_no, "missing value", column=c.name)
        except ValueError as exc:
            return ImportFormatError(path, line_no, str(exc), column=c.name)
    return ImportFormatError(path, line_no, "invalid row")  # pragma: no cover
