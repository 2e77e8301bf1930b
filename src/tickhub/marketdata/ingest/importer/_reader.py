"""Files: format detection, `TradeReader`, `read_trades` and `count_rows`."""

from __future__ import annotations

import csv
import gzip
import io
import zipfile
import zlib
from collections.abc import Generator, Iterator, Sequence
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass
from itertools import chain, islice
from pathlib import Path
from typing import IO, Any, Final, Literal, cast

import orjson
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from tickhub.marketdata.events import Trade
from tickhub.marketdata.ingest.importer._columns import (
    _batch_to_trades,
    _binance_layout,
    _Column,
    _ColumnError,
    _resolve,
    _row_error,
    _rows_to_trades,
)
from tickhub.marketdata.ingest.importer._values import ImportFormatError

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
_CORRUPT: Final = (EOFError, zlib.error, gzip.BadGzipFile, zipfile.BadZipFile)


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
