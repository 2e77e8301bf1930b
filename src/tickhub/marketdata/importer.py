"""Read trade files for `tickhub import`: parsing only, no database, no CLI.

Formats (`fmt`, else the extension; gzip, zip and Parquet are also known by their first bytes):

- ``csv``: Binance public-data trades without a header (``id, price, qty, quoteQty, time,
  isBuyerMaker[, isBestMatch]``; 6 columns in older futures files), or any CSV with a header
  row. The first row is a header when its first field is not a number. ``.csv.gz`` and a
  ``.zip`` holding exactly one file (how data.binance.vision ships) are read as they are.
- ``jsonl`` (``.jsonl``, ``.ndjson``): one JSON object per line.
- ``parquet``: flat columns; timestamp columns are taken as UTC.

Columns are found by name (case, ``_``, ``-`` and spaces ignored; one-letter names are
matched exactly, as in Binance's stream payloads). When several aliases are present the
first in this list wins:

- trade id: ``id``, ``trade_id``, ``t``
- price: ``price``, ``p``
- quantity: ``qty``, ``quantity``, ``amount``, ``size``, ``q``
- time: ``time``, ``timestamp``, ``ts``, ``trade_time``, ``datetime``, ``T``. Epoch numbers
  are read by magnitude, value by value: below 1e11 seconds, below 1e14 milliseconds, below
  1e17 microseconds, else nanoseconds (so Binance's 2025 switch from ms to µs needs no
  flag; epoch milliseconds before 1973-03 would be misread as seconds). Fractions are
  allowed and truncated to the microsecond. ISO-8601 strings without an offset are UTC.
- buyer-is-maker (optional): ``is_buyer_maker``, ``m`` (true/false/1/0); ``side`` or
  ``taker_side``: the taker's side, ``sell``/``s`` means the buyer was the maker (ccxt,
  Bybit, OKX, Kraken); ``maker_side``: the maker's side, ``buy``/``b`` means the buyer was
  the maker (Coinbase's feed reports the maker side: rename its ``side`` to
  ``maker_side``). A blank value means unknown.

A file without a trade-id column is refused. Storage is keyed by (exchange, symbol,
trade_id) and gaps are found from consecutive ids, so an id made up here (row number, hash
of the fields) would either merge distinct trades that share a price, size and
microsecond, or collide between files of the same instrument, and in both cases trades
would be dropped silently as duplicates.

Bad data raises `ImportFormatError` naming the line (1-based physical line for text files,
1-based row for Parquet) and the column; nothing is skipped. Prices must be finite and
positive, quantities finite and non-negative, ids in 0..2**63-1, times not before 1970.

Speed: CSV goes through pyarrow's multithreaded reader and Parquet through its batches,
with columns converted in bulk. When a block cannot be converted that way (a bad value, a
spelling pyarrow refuses), CSV is re-read with the `csv` module, skipping the rows already
produced; that path defines the semantics and finds the exact line of an error. JSONL is
parsed line by line with orjson.

Progress: `TradeReader` exposes `total` and `done` in `unit`: "bytes" for text files (of
the file on disk, gzip included; of the uncompressed member for a zip), "rows" for Parquet
(from its metadata). For CSV, `done` runs up to ~40 MB ahead of the batches (pyarrow reads
ahead) and starts over if the file falls back to the `csv` module. With rich::

    reader = TradeReader(path)
    size = DownloadColumn() if reader.unit == "bytes" else MofNCompleteColumn()
    with Progress(BarColumn(), size, TimeRemainingColumn()) as bar:
        task = bar.add_task("import", total=reader.total)
        for batch in reader:
            ...  # write the batch
            bar.update(task, completed=reader.done)
        bar.update(task, completed=reader.done)  # == total once the loop is over
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import re
import zipfile
import zlib
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from functools import partial
from itertools import chain, islice, repeat
from operator import itemgetter
from pathlib import Path
from typing import IO, Any, Final, Literal, cast

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from tickhub.marketdata.events import Trade, datetime_to_us

__all__ = ["FORMATS", "ImportFormatError", "TradeReader", "count_rows", "read_trades"]

Format = Literal["csv", "jsonl", "parquet"]
FORMATS: Final[tuple[Format, ...]] = ("csv", "jsonl", "parquet")
# names accepted for `fmt`, and file extensions without the dot
_FORMAT_NAMES: Final[dict[str, Format]] = {
    "csv": "csv",
    "jsonl": "jsonl",
    "ndjson": "jsonl",
    "parquet": "parquet",
    "pq": "parquet",
}
_CSV_BLOCK_SIZE = 1 << 20  # pyarrow reads ~37 blocks ahead: keep memory modest; tests lower it
_MAX_ID: Final = 2**63 - 1
_UTC_US: Final = pa.timestamp("us", tz="UTC")
_CORRUPT: Final = (EOFError, zlib.error, gzip.BadGzipFile, zipfile.BadZipFile)


class ImportFormatError(ValueError):
    """A trade file that cannot be imported, with where and why, ready to print."""

    def __init__(
        self,
        path: Path | str,
        line_no: int | None,
        reason: str,
        *,
        column: str | None = None,
        unit: Literal["line", "row"] = "line",
    ) -> None:
        self.path = Path(path)
        self.line_no = line_no
        self.reason = reason
        self.column = column
        where = str(path) if line_no is None else f"{path}, {unit} {line_no}"
        what = f"column {column!r}: " if column else ""
        super().__init__(f"{where}: {what}{reason}")


# --- values, one at a time (the reference semantics) ---------------------------------------

_INT_RE: Final = re.compile(r"[+-]?[0-9]+")
_DEC_RE: Final = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _parse_id(value: Any) -> int:
    if isinstance(value, str) and _INT_RE.fullmatch(value.strip()):
        number = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    else:
        raise ValueError("missing value" if _missing(value) else f"not an integer: {value!r}")
    if not 0 <= number <= _MAX_ID:
        raise ValueError(f"trade id out of range: {value!r}")
    return number


def _to_float(value: Any) -> float:
    if isinstance(value, int | float | Decimal | str) and not isinstance(value, bool):
        try:
            return float(value)
        except (ValueError, OverflowError):
            pass
    raise ValueError("missing value" if _missing(value) else f"not a number: {value!r}")


def _parse_price(value: Any) -> float:
    number = _to_float(value)
    if not (math.isfinite(number) and number > 0):
        raise ValueError(f"price must be positive and finite: {value!r}")
    return number


def _parse_qty(value: Any) -> float:
    number = _to_float(value)
    if not (math.isfinite(number) and number >= 0):
        raise ValueError(f"quantity must be non-negative and finite: {value!r}")
    return number


def _scale_epoch(number: int | Decimal) -> int:
    """Epoch seconds, ms, µs or ns (by magnitude) to integer µs, truncating fractions."""
    if number < 0:
        raise ValueError(f"timestamp before 1970: {number}")
    if number < 10**11:
        number = number * 1_000_000
    elif number < 10**14:
        number = number * 1_000
    elif number >= 10**17:
        if number >= 10**20:
            raise ValueError(f"timestamp out of range: {number}")
        number = number / 1_000 if isinstance(number, Decimal) else number // 1_000
    if isinstance(number, Decimal):
        return int(number.to_integral_value(ROUND_FLOOR))
    return number


def _parse_ts(value: Any) -> int:
    if isinstance(value, str):
        text = value.strip()
        if _INT_RE.fullmatch(text):
            return _scale_epoch(int(text))
        if _DEC_RE.fullmatch(text):
            return _scale_epoch(Decimal(text))
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            why = f"not an epoch number or ISO-8601 time: {value!r}" if text else "missing value"
            raise ValueError(why) from None
    if isinstance(value, datetime):
        us = datetime_to_us(value)  # naive means UTC
        if us < 0:
            raise ValueError(f"timestamp before 1970: {value.isoformat()}")
        return us
    if isinstance(value, int) and not isinstance(value, bool):
        return _scale_epoch(value)
    if isinstance(value, float) and math.isfinite(value):
        return _scale_epoch(Decimal(repr(value)))
    if isinstance(value, Decimal) and value.is_finite():
        return _scale_epoch(value)
    raise ValueError("missing value" if value is None else f"not a timestamp: {value!r}")


def _words(
    true: Iterable[str | int], false: Iterable[str | int], hint: str
) -> Callable[[Any], bool | None]:
    meaning = {**dict.fromkeys(true, True), **dict.fromkeys(false, False)}

    def parse(value: Any) -> bool | None:
        if isinstance(value, bool) or value is None:
            return value
        key = value.strip().lower() if isinstance(value, str) else value
        if key == "":
            return None
        if isinstance(key, str | int) and key in meaning:
            return meaning[key]
        raise ValueError(f"expected {hint}, got {value!r}")

    return parse


_TRUE: Final = ("true", "1", 1)
_FALSE: Final = ("false", "0", 0)
_parse_maker = _words(_TRUE, _FALSE, "true or false")
_parse_taker_side = _words(("sell", "s"), ("buy", "b"), "buy or sell")
_parse_maker_side = _words(("buy", "b"), ("sell", "s"), "buy or sell")


# --- whole columns at once (an optimisation that must agree with the above) ---------------


def _try_cast(arr: Any, *types: Any) -> Any | None:
    for typ in types:
        try:
            return arr.cast(typ)
        except pa.ArrowException:
            pass
    return None


def _decimal_ints(arr: Any) -> Any | None:
    """Strings of digits as int64; arrow alone would also take 0x-hex."""
    if pc.any(pc.match_substring(arr, "x", ignore_case=True)).as_py():
        return None
    return _try_cast(arr, pa.int64())


def _fast_id(arr: Any) -> list[Any] | None:
    if pa.types.is_string(arr.type):
        arr = _decimal_ints(arr)
    elif pa.types.is_integer(arr.type):
        arr = _try_cast(arr, pa.int64())
    else:
        return None
    if arr is None or arr.null_count or (len(arr) and pc.min(arr).as_py() < 0):
        return None
    return list(arr.to_pylist())


def _fast_float(arr: Any, *, allow_zero: bool) -> list[Any] | None:
    typ = arr.type
    if not (pa.types.is_string(typ) or pa.types.is_integer(typ) or pa.types.is_floating(typ)):
        return None  # decimals go value by value: float(Decimal) rounds correctly
    try:
        arr = pc.cast(arr, pa.float64())
    except pa.ArrowException:
        return None
    if arr.null_count:
        return None
    low = pc.greater_equal(arr, 0.0) if allow_zero else pc.greater(arr, 0.0)
    if not pc.all(pc.and_(pc.is_finite(arr), low)).as_py():
        return None
    return list(arr.to_pylist())


def _fast_ts(arr: Any) -> list[Any] | None:
    scale = not pa.types.is_timestamp(arr.type)  # timestamps are µs here (_column_values)
    if pa.types.is_string(arr.type):
        # epoch integers, else ISO-8601 all with offsets or all naive (= UTC)
        epoch = _decimal_ints(arr)
        scale = epoch is not None
        arr = epoch if scale else _try_cast(arr, _UTC_US, pa.timestamp("us"))
    elif not (pa.types.is_integer(arr.type) or pa.types.is_timestamp(arr.type)):
        return None
    arr = None if arr is None else _try_cast(arr, pa.int64())
    if arr is None or arr.null_count or (len(arr) and pc.min(arr).as_py() < 0):
        return None
    if scale:  # the same magnitude rule as _scale_epoch; int64 stays below 1e20
        arr = pc.if_else(
            pc.less(arr, 10**11),
            pc.multiply(arr, 1_000_000),
            pc.if_else(
                pc.less(arr, 10**14),
                pc.multiply(arr, 1_000),
                pc.if_else(pc.less(arr, 10**17), arr, pc.divide(arr, 1_000)),
            ),
        )
    return list(arr.to_pylist())


def _fast_words(true: Sequence[str], false: Sequence[str]) -> Callable[[Any], list[Any] | None]:
    def fast(arr: Any) -> list[Any] | None:
        if pa.types.is_boolean(arr.type) and not arr.null_count:
            return list(arr.to_pylist())
        if not pa.types.is_string(arr.type) or arr.null_count:
            return None
        lower = pc.utf8_lower(arr)
        is_true = pc.is_in(lower, value_set=pa.array(true))
        if not pc.all(pc.or_(is_true, pc.is_in(lower, value_set=pa.array(false)))).as_py():
            return None  # blanks, spaces, typos: value by value
        return list(is_true.to_pylist())

    return fast


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


# --- files --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _CsvShape:
    header_line: int  # physical line of the header row, 0 without one
    width: int
    columns: list[_Column]


class TradeReader:
    """Iterate a trade file as lists of `Trade` (`batch_size` each, the last one shorter).

    `total`, `done` and `unit` drive a progress bar (see the module docstring); `rows` is
    the number of trades produced so far. Iterating again reads the file again.
    """

    def __init__(
        self, path: Path | str, *, fmt: str | None = None, batch_size: int = 50_000
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.path = Path(path)
        self.batch_size = batch_size
        self._container, self._member, size, self.format = _detect(self.path, fmt)
        self.unit: Literal["bytes", "rows"] = "rows" if self.format == "parquet" else "bytes"
        if self.format == "parquet":
            self.total: int = _parquet_rows(self.path)
        else:
            self.total = size
        self.rows = 0
        self._position: IO[bytes] | None = None  # its tell() is the progress in bytes
        self._finished = False

    @property
    def done(self) -> int:
        """Progress so far, in `unit`; equals `total` once iteration is over."""
        if self._finished:
            return self.total
        if self.unit == "rows":
            return self.rows
        file = self._position
        return file.tell() if file is not None and not file.closed else 0

    def __iter__(self) -> Generator[list[Trade], None, None]:
        self.rows, self._finished = 0, False
        chunks = {"csv": self._csv, "jsonl": self._jsonl, "parquet": self._parquet}[self.format]()
        pending: list[Trade] = []
        size = self.batch_size
        for chunk in chunks:
            pending.extend(chunk)
            if len(pending) >= size:
                full = len(pending) - len(pending) % size
                for start in range(0, full, size):
                    self.rows += size
                    yield pending[start : start + size]
                pending = pending[full:]
        if pending:
            self.rows += len(pending)
            self._finished = True
            yield pending
        self._finished = True

    @contextmanager
    def _open(self) -> Iterator[IO[bytes]]:
        with ExitStack() as stack:
            raw = stack.enter_context(self.path.open("rb"))
            self._position = raw
            if self._container == "gzip":
                unzipped = stack.enter_context(gzip.GzipFile(fileobj=raw, mode="rb"))
                yield cast(IO[bytes], unzipped)  # typeshed's GzipFile is not IO[bytes]
            elif self._container == "zip":
                archive = stack.enter_context(zipfile.ZipFile(raw))
                self._position = member = stack.enter_context(archive.open(self._member))
                yield member
            else:
                yield raw

    def _error(
        self, line_no: int | None, reason: str, column: str | None = None
    ) -> ImportFormatError:
        return ImportFormatError(self.path, line_no, reason, column=column)

    # CSV: pyarrow first, the csv module where pyarrow's conversion is not enough

    def _csv(self) -> Iterator[list[Trade]]:
        shape = self._csv_shape()
        if shape is None:
            return
        produced = 0
        try:
            for chunk in self._csv_arrow(shape):
                produced += len(chunk)
                yield chunk
            return
        except (pa.ArrowException, _ColumnError, *_CORRUPT):
            pass  # the csv module path below tells where and why, or copes
        yield from self._csv_rows(shape, skip=produced)

    def _csv_shape(self) -> _CsvShape | None:
        with self._open() as stream:
            reader = csv.reader(_text(stream))
            try:
                first = next((row for row in reader if row), None)
            except (csv.Error, *_CORRUPT) as exc:
                raise self._error(reader.line_num, f"malformed CSV: {exc}") from None
            if first is None:
                return None
            line = reader.line_num
            if _is_number(first[0]):
                if len(first) not in (6, 7):
                    raise self._error(
                        line,
                        f"a CSV without a header must be Binance trades (id, price, qty, "
                        f"quoteQty, time, isBuyerMaker, isBestMatch): got {len(first)} fields",
                    )
                return _CsvShape(0, len(first), _binance_layout())
            try:
                return _CsvShape(line, len(first), _resolve(first, by_index=True))
            except ValueError as exc:
                raise self._error(line, str(exc)) from None

    def _csv_arrow(self, shape: _CsvShape) -> Iterator[list[Trade]]:
        names = [f"f{i}" for i in range(shape.width)]
        wanted = [names[int(c.key)] for c in shape.columns]
        # All as strings: an odd value then costs its column in its block a per-value
        # conversion (see _column_values) instead of a re-read of the file.
        column_types = dict.fromkeys(wanted, pa.string())
        options = (
            pacsv.ReadOptions(
                column_names=names, skip_rows=shape.header_line, block_size=_CSV_BLOCK_SIZE
            ),
            pacsv.ParseOptions(),
            pacsv.ConvertOptions(
                column_types=column_types, include_columns=wanted, strings_can_be_null=False
            ),
        )
        # the reader is closed before the file, so its read-ahead never sees a closed file
        with self._open() as stream, closing(pacsv.open_csv(stream, *options)) as reader:
            for batch in reader:
                yield _batch_to_trades(batch, shape.columns, wanted)

    def _csv_rows(self, shape: _CsvShape, *, skip: int) -> Iterator[list[Trade]]:
        line = last = 0  # first and last physical line of the current record

        def records(reader: Any) -> Iterator[list[str]]:
            nonlocal line, last
            for row in reader:
                line, last = last + 1, reader.line_num
                if row and len(row) != shape.width:
                    why = f"expected {shape.width} fields, got {len(row)}"
                    if last > line:
                        why += " (a quoted field runs over several lines)"
                    raise self._error(line, why)
                if row:
                    yield row

        def error(row: Any, columns: Sequence[_Column]) -> ImportFormatError:
            return _row_error(self.path, line, row, columns)

        with self._open() as stream:
            reader = csv.reader(_text(stream))
            rows = records(reader)
            try:
                if shape.header_line:
                    next(rows, None)
                rows = islice(rows, skip, None)
                yield from _rows_to_trades(rows, shape.columns, self.batch_size, error)
            except csv.Error as exc:
                raise self._error(last + 1, f"malformed CSV: {exc}") from None
            except _CORRUPT as exc:
                raise self._error(last + 1, f"corrupt or truncated file: {exc}") from None

    # JSONL

    def _jsonl(self) -> Iterator[list[Trade]]:
        line_no = 0
        with self._open() as stream:

            def objects() -> Iterator[dict[str, Any]]:
                nonlocal line_no
                try:
                    for line_no, line in enumerate(stream, 1):
                        if not line.strip():
                            continue
                        try:
                            obj = orjson.loads(line.removeprefix(b"\xef\xbb\xbf"))
                        except orjson.JSONDecodeError as exc:
                            raise self._error(line_no, f"invalid JSON: {exc}") from None
                        if not isinstance(obj, dict):
                            raise self._error(line_no, "expected a JSON object")
                        yield obj
                except _CORRUPT as exc:
                    raise self._error(line_no + 1, f"corrupt or truncated file: {exc}") from None

            items = objects()
            first = next(items, None)
            if first is None:
                return
            try:
                columns = _resolve(list(first), by_index=False)
            except ValueError as exc:
                raise self._error(line_no, str(exc)) from None

            def error(row: Any, columns: Sequence[_Column]) -> ImportFormatError:
                return _row_error(self.path, line_no, row, columns)

            yield from _rows_to_trades(chain([first], items), columns, self.batch_size, error)

    # Parquet

    def _parquet(self) -> Iterator[list[Trade]]:
        with pq.ParquetFile(self.path) as file:
            try:
                columns = _resolve(file.schema_arrow.names, by_index=False)
            except ValueError as exc:
                raise self._error(None, str(exc)) from None
            names = [str(c.key) for c in columns]
            offset = 0
            batches = file.iter_batches(batch_size=self.batch_size, columns=names)
            while True:
                try:
                    batch = next(batches, None)
                except pa.ArrowException as exc:
                    raise self._error(None, f"unreadable Parquet data: {exc}") from None
                if batch is None:
                    return
                try:
                    trades = _batch_to_trades(batch, columns, names)
                except _ColumnError as exc:
                    row = offset + exc.index + 1
                    raise ImportFormatError(
                        self.path, row, exc.reason, column=exc.column, unit="row"
                    ) from None
                offset += batch.num_rows
                yield trades


def _text(stream: IO[bytes]) -> io.TextIOWrapper:
    # Undecodable bytes survive as surrogates, so the bad field is reported with its line.
    return io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _detect(path: Path, fmt: str | None) -> tuple[str, str, int, Format]:
    """(container, name inside, its size in bytes, format) from the first bytes, name, `fmt`.

    The size is the file's, or for a zip its member's uncompressed size: progress is then
    read from the member, as the zip's own position jumps around its directory.
    """
    with path.open("rb") as file:
        magic = file.read(4)
        size = file.seek(0, io.SEEK_END)
    container, name = "plain", path.name
    if magic == b"PK\x03\x04":
        container = "zip"
        with zipfile.ZipFile(path) as archive:
            members = [
                m
                for m in archive.infolist()
                if not m.is_dir() and not m.filename.startswith("__MACOSX/")
            ]
        if len(members) != 1:
            found_names = [m.filename for m in members]
            raise ImportFormatError(
                path, None, f"expected one file in the zip, found {found_names}"
            )
        name, size = members[0].filename, members[0].file_size
    elif magic[:2] == b"\x1f\x8b":
        container, name = "gzip", name.removesuffix(".gz").removesuffix(".GZ")
    found: Format | None
    if fmt is not None:
        found = _FORMAT_NAMES.get(fmt.lower())
        if found is None:
            raise ImportFormatError(path, None, f"unknown format {fmt!r}; use one of {FORMATS}")
    elif magic == b"PAR1":
        found = "parquet"
    else:
        found = _FORMAT_NAMES.get(Path(name).suffix.lower().removeprefix("."))
    if found is None:
        raise ImportFormatError(
            path, None, f"cannot tell the format of {name!r}; pass one of {FORMATS}"
        )
    if found == "parquet" and container != "plain":
        raise ImportFormatError(path, None, f"unpack Parquet files before import ({container})")
    return container, name, size, found


def _parquet_rows(path: Path) -> int:
    try:
        return int(pq.read_metadata(path).num_rows)
    except pa.ArrowException as exc:
        raise ImportFormatError(path, None, f"not a readable Parquet file: {exc}") from None


def read_trades(
    path: Path | str, *, fmt: str | None = None, batch_size: int = 50_000
) -> Iterator[list[Trade]]:
    """Trades of `path` in file order, in lists of `batch_size` (the last may be shorter).

    Raises `ImportFormatError` for an unreadable file or a bad value (line and column).
    Use `TradeReader` directly to drive a progress bar.
    """
    return iter(TradeReader(path, fmt=fmt, batch_size=batch_size))


def count_rows(path: Path | str, *, fmt: str | None = None) -> int | None:
    """Exact row count when it is cheap (Parquet metadata); None for text files."""
    reader = TradeReader(path, fmt=fmt)
    return reader.total if reader.unit == "rows" else None
