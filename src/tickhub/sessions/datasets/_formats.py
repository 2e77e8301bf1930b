"""Encodings of a data set's rows: the content hash, and JSON, CSV and Parquet streams
produced a page of rows at a time. Pure: no I/O beyond the pages handed in."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from tickhub.common import errors as kinds
from tickhub.sessions.datasets._definition import DatasetError, DatasetInvalid

if TYPE_CHECKING:  # imported when a Parquet file is written: pyarrow is ~45 MiB resident
    import pyarrow as pa

Row = tuple[int, str, list[Any]]  # (time in µs, "exchange:SYMBOL", values in column order)
Pages = AsyncIterator[list[Row]]

JSON, CSV, PARQUET = "json", "csv", "parquet"
MEDIA_TYPES = {
    JSON: "application/json",
    CSV: "text/csv; charset=utf-8",
    PARQUET: "application/vnd.apache.parquet",
}
_ACCEPTED = {
    "application/json": JSON,
    "text/csv": CSV,
    "application/vnd.apache.parquet": PARQUET,
    "application/parquet": PARQUET,
    "application/x-parquet": PARQUET,
}
INTEGER_COLUMNS = frozenset({"trade_count"})


class NotAcceptable(DatasetError, kinds.NotAcceptable):
    """None of the formats the caller accepts."""


def content_hash(columns: Sequence[str], rows: Iterable[Row]) -> str:
    """SHA-256 of a canonical text: the column names, then one compact JSON array per row
    (time as integer µs; floats in shortest round-trip form; null for no value)."""
    h = hashlib.sha256()
    h.update(json.dumps(list(columns), separators=(",", ":")).encode())
    for t, inst, values in rows:
        h.update(b"\n")
        h.update(json.dumps([t, inst, *values], separators=(",", ":"), allow_nan=False).encode())
    return h.hexdigest()


def choose_format(format_param: str | None, accept: str | None) -> str:
    """`?format=` wins; otherwise the most preferred type of `Accept`; JSON by default."""
    if format_param is not None:
        wanted = format_param.strip().lower()
        if wanted not in MEDIA_TYPES:
            raise DatasetInvalid("format must be json, csv or parquet", field="format")
        return wanted
    if not accept or not accept.strip():
        return JSON
    offers: list[tuple[float, int, str]] = []
    for i, part in enumerate(accept.split(",")):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for p in params:
            key, _, value = p.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        media = media.lower()
        found = JSON if media in {"*/*", "application/*", "text/*"} else _ACCEPTED.get(media)
        if media == "text/*":
            found = CSV
        if found is not None and q > 0:
            offers.append((-q, i, found))
    if not offers:
        raise NotAcceptable(
            "acceptable types: application/json, text/csv, application/vnd.apache.parquet",
            field="Accept",
        )
    return min(offers)[2]


def time_texts(page: Sequence[Row]) -> list[str]:
    """`format_time(from_us(t))` of each row's time, for a whole page at once (numpy's
    `datetime64[us]` text is the same `YYYY-MM-DDTHH:MM:SS.ffffff`)."""
    stamps = np.array([r[0] for r in page], dtype="datetime64[us]")
    return [text + "Z" for text in np.datetime_as_string(stamps, unit="us").tolist()]


def json_rows(columns: Sequence[str], page: Sequence[Row]) -> bytes:
    """The page's rows as JSON objects joined by commas (no brackets), one `dumps` for the
    page: `{"time": ..., "instrument": ..., column: value, ...}` in column order."""
    if not page:
        return b""
    records = [
        dict(zip(columns, [t, r[1], *r[2]], strict=True))
        for t, r in zip(time_texts(page), page, strict=True)
    ]
    return orjson.dumps(records)[1:-1]


async def json_stream(
    head: dict[str, Any], columns: Sequence[str], pages: Pages
) -> AsyncIterator[bytes]:
    """`{...head, "rows": [{column: value}, ...]}`, written a page at a time."""
    yield orjson.dumps(head)[:-1] + b',"rows":['
    sep = b""
    async for page in pages:
        if page:
            yield sep + json_rows(columns, page)
            sep = b","
    yield b"]}"


async def csv_stream(columns: Sequence[str], pages: Pages) -> AsyncIterator[bytes]:
    """A header line, then one line per row; an empty cell is a missing value (the csv
    module writes None as an empty cell and a float as its shortest round-trip `repr`)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    yield buf.getvalue().encode()
    async for page in pages:
        buf.seek(0)
        buf.truncate()
        writer.writerows([t, r[1], *r[2]] for t, r in zip(time_texts(page), page, strict=True))
        yield buf.getvalue().encode()


def arrow_schema(columns: Sequence[str], metadata: dict[str, str] | None = None) -> pa.Schema:
    import pyarrow as pa

    fields = [pa.field("time", pa.timestamp("us", tz="UTC")), pa.field("instrument", pa.string())]
    fields += [
        pa.field(c, pa.int64() if c in INTEGER_COLUMNS else pa.float64()) for c in columns[2:]
    ]
    return pa.schema(fields, metadata=metadata)


class _Sink:
    """A write-only file that hands over what was written so far."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.position = 0
        self.closed = False

    def write(self, data: bytes) -> int:
        chunk = bytes(data)
        self.chunks.append(chunk)
        self.position += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def take(self) -> bytes:
        out = b"".join(self.chunks)
        self.chunks.clear()
        return out


def _batch(schema: pa.Schema, page: list[Row]) -> pa.RecordBatch:
    import pyarrow as pa

    arrays = [
        pa.array([r[0] for r in page], pa.timestamp("us", tz="UTC")),
        pa.array([r[1] for r in page], pa.string()),
    ]
    for i, f in enumerate(list(schema)[2:]):
        arrays.append(pa.array([r[2][i] for r in page], f.type))
    return pa.record_batch(arrays, schema=schema)


async def parquet_stream(
    columns: Sequence[str], pages: Pages, metadata: dict[str, str] | None = None
) -> AsyncIterator[bytes]:
    """A Parquet file with one row group per page, sent as each group is written."""
    import pyarrow.parquet as pq

    schema = arrow_schema(columns, metadata)
    sink = _Sink()
    writer = pq.ParquetWriter(sink, schema, compression="zstd")
    try:
        async for page in pages:
            if page:
                writer.write_batch(_batch(schema, page))
                yield sink.take()
    finally:
        writer.close()
    yield sink.take()
