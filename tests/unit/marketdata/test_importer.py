from __future__ import annotations

import gzip
import json
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from datetime import UTC
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tickhub.marketdata.events import Trade
from tickhub.marketdata.ingest.importer import (
    ImportFormatError,
    TradeReader,
    _columns,
    _reader,
    _values,
    count_rows,
    read_trades,
)

T0_MS = 1_735_689_600_000  # 2025-01-01T00:00:00Z
T0_US = T0_MS * 1_000


def binance_line(t: Trade, *, ms: bool = False, columns: int = 7) -> str:
    ts = t.ts // 1_000 if ms else t.ts
    fields = [t.trade_id, repr(t.price), repr(t.qty), repr(t.price * t.qty), ts, t.is_buyer_maker]
    return ",".join(str(f) for f in [*fields, True][:columns]) + "\n"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def read_all(path: Path, *, fmt: str | None = None, batch_size: int = 50_000) -> list[Trade]:
    return [t for batch in read_trades(path, fmt=fmt, batch_size=batch_size) for t in batch]


def trades(n: int, *, start: int = 1) -> list[Trade]:
    return [
        Trade(start + i, T0_US + i * 1_000, 100.0 + i / 8, 0.5 + i, i % 2 == 0) for i in range(n)
    ]


# --- formats ------------------------------------------------------------------------------


def test_binance_headerless_milliseconds(tmp_path: Path) -> None:
    path = write(
        tmp_path / "BTCUSDT-trades-2024-12-31.csv",
        "".join(binance_line(t, ms=True) for t in trades(3)),
    )
    assert read_all(path) == trades(3)


def test_binance_headerless_microseconds_since_2025(tmp_path: Path) -> None:
    text = "4400000000,93996.34000000,1.69487000,159311.57,1735689600000123,False,True\n"
    path = write(tmp_path / "BTCUSDT-trades-2025-01-01.csv", text)
    assert read_all(path) == [Trade(4400000000, 1735689600000123, 93996.34, 1.69487, False)]


def test_binance_units_detected_per_value_and_lowercase_booleans(tmp_path: Path) -> None:
    text = "1,10.5,2,21,1735689600000,true,true\n2,10.5,2,21,1735689600000001,false,true\n"
    path = write(tmp_path / "t.csv", text)
    assert [(t.ts, t.is_buyer_maker) for t in read_all(path)] == [
        (T0_US, True),
        (T0_US + 1, False),
    ]


def test_binance_futures_six_columns(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", "".join(binance_line(t, columns=6) for t in trades(2)))
    assert read_all(path) == trades(2)


def test_binance_zip_as_published(tmp_path: Path) -> None:
    path = tmp_path / "BTCUSDT-trades-2025-01.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("BTCUSDT-trades-2025-01.csv", "".join(map(binance_line, trades(5))))
    assert read_all(path) == trades(5)


def test_zip_must_hold_one_file(tmp_path: Path) -> None:
    path = tmp_path / "two.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.csv", "")
        archive.writestr("b.csv", "")
    with pytest.raises(ImportFormatError, match="one file"):
        read_all(path)


def test_gzip_csv(tmp_path: Path) -> None:
    path = tmp_path / "t.csv.gz"
    path.write_bytes(gzip.compress("".join(map(binance_line, trades(4))).encode()))
    assert read_all(path) == trades(4)


def test_csv_with_header_and_aliases(tmp_path: Path) -> None:
    text = (
        "\ufefftrade_id,Price,quantity,quote_qty,Timestamp,side\r\n"
        "7,100.5,0.25,25.125,1735689600,sell\r\n"
        "8,100.25,1,100.25,1735689600.5,BUY\r\n"
        '9,"100",0,0,2025-01-01T00:00:01Z,\r\n'
    )
    path = write(tmp_path / "t.csv", text)
    assert read_all(path) == [
        Trade(7, T0_US, 100.5, 0.25, True),
        Trade(8, T0_US + 500_000, 100.25, 1.0, False),
        Trade(9, T0_US + 1_000_000, 100.0, 0.0, None),
    ]


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("is_buyer_maker", "True", True),
        ("isBuyerMaker", "false", False),
        ("m", "1", True),
        ("side", "sell", True),  # taker sold: the buyer was the maker
        ("taker_side", "b", False),
        ("maker_side", "buy", True),  # Coinbase-style maker side
        ("maker_side", "Sell", False),
        ("side", "", None),
    ],
)
def test_buyer_maker_columns(
    tmp_path: Path, column: str, value: str, expected: bool | None
) -> None:
    path = write(tmp_path / "t.csv", f"id,price,qty,time,{column}\n1,2,3,{T0_MS},{value}\n")
    assert read_all(path)[0].is_buyer_maker is expected


def test_blank_lines_before_header_and_between_rows(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", f"\n\nid,price,qty,ts\n\n1,2,3,{T0_US}\n\n2,2,3,{T0_US}\n")
    assert [t.trade_id for t in read_all(path)] == [1, 2]


def test_optional_maker_column(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", f"id,price,qty,ts\n1,2,3,{T0_US}\n")
    assert read_all(path) == [Trade(1, T0_US, 2.0, 3.0, None)]


def test_jsonl_binance_stream_payloads(tmp_path: Path) -> None:
    lines = [
        {"e": "trade", "E": T0_MS + 5, "s": "BTCUSDT", "t": 12, "p": "0.001", "q": "100",
         "T": T0_MS, "m": True, "M": True},
        {"e": "trade", "E": T0_MS + 6, "s": "BTCUSDT", "t": 13, "p": 0.002, "q": 5,
         "T": T0_MS + 1, "m": False, "M": True},
    ]  # fmt: skip
    path = write(tmp_path / "t.ndjson", "\n".join(json.dumps(x) for x in lines) + "\n\n")
    assert read_all(path) == [
        Trade(12, T0_US, 0.001, 100.0, True),
        Trade(13, T0_US + 1_000, 0.002, 5.0, False),
    ]


def test_jsonl_ccxt_trades_first_alias_wins(tmp_path: Path) -> None:
    trade = {
        "id": "123", "timestamp": T0_MS, "datetime": "2030-01-01T00:00:00.000Z",
        "symbol": "BTC/USDT", "side": "sell", "takerOrMaker": "taker",
        "price": 1.5, "amount": 2, "cost": 3.0,
    }  # fmt: skip
    path = write(tmp_path / "t.jsonl", json.dumps(trade) + "\n")
    assert read_all(path) == [Trade(123, T0_US, 1.5, 2.0, True)]


def test_duplicate_column_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", f"id,price,Price,qty,time\n1,2,2,3,{T0_MS}\n")
    with pytest.raises(ImportFormatError, match="'price' appears 2 times"):
        read_all(path)


def test_parquet_typed_columns(tmp_path: Path) -> None:
    table = pa.table(
        {
            "trade_id": pa.array([1, 2], pa.int64()),
            "price": pa.array([Decimal("0.1"), Decimal("65000.01")], pa.decimal128(18, 8)),
            "size": pa.array([1.5, 2.0], pa.float32()),
            "timestamp": pa.array([T0_US * 1_000 + 999, T0_US * 1_000], pa.timestamp("ns", "UTC")),
            "side": pa.array(["sell", None]).dictionary_encode(),
        }
    )
    path = tmp_path / "t.parquet"
    pq.write_table(table, path)
    assert read_all(path) == [Trade(1, T0_US, 0.1, 1.5, True), Trade(2, T0_US, 65000.01, 2.0, None)]


def test_parquet_epoch_and_iso_strings(tmp_path: Path) -> None:
    table = pa.table(
        {
            "id": ["1", "2"],
            "p": ["1.5", "2.5"],
            "q": ["1", "2"],
            "time": ["2025-01-01T00:00:00", "2025-01-01T01:00:00+01:00"],
        }
    )
    path = tmp_path / "t.pq"
    pq.write_table(table, path)
    assert [(t.trade_id, t.ts) for t in read_all(path)] == [(1, T0_US), (2, T0_US)]


def test_format_forced_and_unknown_extension(tmp_path: Path) -> None:
    path = write(tmp_path / "trades.txt", binance_line(trades(1)[0]))
    with pytest.raises(ImportFormatError, match="cannot tell the format"):
        read_all(path)
    assert read_all(path, fmt="csv") == trades(1)
    with pytest.raises(ImportFormatError, match="unknown format"):
        read_all(path, fmt="xlsx")


def test_empty_files(tmp_path: Path) -> None:
    assert read_all(write(tmp_path / "a.csv", "")) == []
    assert read_all(write(tmp_path / "b.csv", "id,price,qty,time\n")) == []
    assert read_all(write(tmp_path / "c.jsonl", "\n")) == []


# --- timestamps ---------------------------------------------------------------------------

TIMES = [
    ("1735689600", T0_US),  # seconds
    ("1735689600.25", T0_US + 250_000),
    ("1735689600123", T0_US + 123_000),  # milliseconds
    ("1735689600123.5", T0_US + 123_500),
    ("1735689600123456", T0_US + 123_456),  # microseconds
    ("1735689600123456789", T0_US + 123_456),  # nanoseconds, truncated
    ("2025-01-01T00:00:00.123456Z", T0_US + 123_456),
    ("2025-01-01 00:00:00.5", T0_US + 500_000),  # naive = UTC
    ("2025-01-01T02:00:00+02:00", T0_US),
    ("2025-01-01T00:00:00.123456789Z", T0_US + 123_456),
]


@pytest.mark.parametrize(("value", "expected"), TIMES)
def test_timestamps_normalised_to_microseconds(tmp_path: Path, value: str, expected: int) -> None:
    csv_path = write(tmp_path / "t.csv", f"id,price,qty,time\n1,1,1,{value}\n")
    jsonl_value = json.loads(value) if value.replace(".", "", 1).isdigit() else value
    jsonl_path = write(
        tmp_path / "t.jsonl", json.dumps({"id": 1, "p": 1, "q": 1, "ts": jsonl_value})
    )
    assert read_all(csv_path)[0].ts == expected
    assert read_all(jsonl_path)[0].ts == expected


ODD_TEXT = st.text(alphabet="0123456789.eE+-xX_ :TZinfa", max_size=14)
EPOCH_TEXT = st.integers(0, 2**63 - 1).map(str)
ISO_TEXT = st.datetimes(timezones=st.sampled_from([None, UTC])).map(lambda d: d.isoformat())


@pytest.mark.parametrize(
    ("fast", "parse"),
    [
        (_values._fast_id, _values._parse_id),
        (_columns._CONVERTERS["price"][1], _values._parse_price),
        (_columns._CONVERTERS["qty"][1], _values._parse_qty),
        (_values._fast_ts, _values._parse_ts),
    ],
)
@given(values=st.lists(st.one_of(ODD_TEXT, EPOCH_TEXT, ISO_TEXT), min_size=1, max_size=4))
def test_bulk_conversion_agrees_with_the_reference(
    fast: Callable[[pa.Array], list[object] | None],
    parse: Callable[[object], object],
    values: list[str],
) -> None:
    """The pyarrow path either declines a column or gives what the row-by-row parser gives."""
    got = fast(pa.array(values))
    if got is not None:
        assert got == [parse(v) for v in values]


def outcome(path: Path) -> list[Trade] | tuple[int | None, str | None]:
    try:
        return read_all(path)
    except ImportFormatError as exc:
        return (exc.line_no, exc.column)


NUMBER_TEXT = st.one_of(ODD_TEXT, st.floats().map(repr), st.integers(-5, 10**20).map(str))


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.one_of(EPOCH_TEXT, ODD_TEXT),
            NUMBER_TEXT,
            NUMBER_TEXT,
            st.one_of(NUMBER_TEXT, ISO_TEXT),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_csv_reads_like_the_csv_module_reference(rows: list[tuple[str, str, str, str]]) -> None:
    def no_arrow(*args: object) -> None:
        raise pa.ArrowInvalid("forced")

    with tempfile.TemporaryDirectory() as tmp:
        path = write(
            Path(tmp) / "t.csv", "id,price,qty,time\n" + "".join(f"{','.join(r)}\n" for r in rows)
        )
        fast = outcome(path)
        with patch.object(TradeReader, "_csv_arrow", no_arrow):
            assert outcome(path) == fast


# --- batching and progress ----------------------------------------------------------------


def test_batches_have_batch_size_and_keep_file_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_reader, "_CSV_BLOCK_SIZE", 4096)  # many pyarrow blocks
    expected = trades(1_000)
    path = write(tmp_path / "t.csv", "".join(map(binance_line, expected)))
    batches = list(read_trades(path, batch_size=300))
    assert [len(b) for b in batches] == [300, 300, 300, 100]
    assert [t for b in batches for t in b] == expected
    with pytest.raises(ValueError, match="batch_size"):
        read_trades(path, batch_size=0)


def test_odd_values_are_converted_one_by_one_within_a_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_reader, "_CSV_BLOCK_SIZE", 2048)
    expected = trades(500)
    lines = [binance_line(t) for t in expected]
    lines[400] = "+" + lines[400]  # arrow's int cast refuses "+401", the reference takes it
    t = expected[300]  # prices here are 100..163; float() takes "1_37.5", arrow does not
    lines[300] = binance_line(t).replace(repr(t.price), "1_" + repr(t.price)[1:], 1)
    lines.insert(450, "\n")
    path = write(tmp_path / "t.csv", "".join(lines))
    assert read_all(path, batch_size=64) == expected


def test_fallback_to_csv_module_resumes_without_duplicates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If pyarrow gives up mid-file, the csv module carries on after the rows it gave."""
    monkeypatch.setattr(_reader, "_CSV_BLOCK_SIZE", 2048)
    convert = _columns._batch_to_trades
    calls: list[int] = []

    def flaky(*args: Any) -> list[Trade]:
        calls.append(1)
        if len(calls) == 4:
            raise pa.ArrowInvalid("something pyarrow cannot read")
        return convert(*args)

    monkeypatch.setattr(_reader, "_batch_to_trades", flaky)
    expected = trades(500)
    path = write(tmp_path / "t.csv", "".join(map(binance_line, expected)))
    assert read_all(path, batch_size=64) == expected
    assert len(calls) == 4


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".zip", ".jsonl", ".parquet"])
def test_progress_reaches_total(tmp_path: Path, suffix: str) -> None:
    path = WRITERS[suffix](tmp_path / f"t{suffix}", trades(10))
    reader = TradeReader(path, batch_size=4)
    assert reader.done == 0
    seen = []
    for _ in reader:
        seen.append(reader.done)
    assert seen == sorted(seen)
    assert reader.done == reader.total
    assert reader.rows == 10
    if suffix == ".parquet":
        assert (reader.unit, reader.total, count_rows(path)) == ("rows", 10, 10)
    elif suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            size = archive.infolist()[0].file_size  # progress inside the member
        assert (reader.unit, reader.total, count_rows(path)) == ("bytes", size, None)
    else:
        assert (reader.unit, reader.total, count_rows(path)) == ("bytes", path.stat().st_size, None)


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".zip", ".jsonl", ".parquet"])
def test_stopping_early_closes_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    monkeypatch.setattr(_reader, "_CSV_BLOCK_SIZE", 1024)
    path = WRITERS[suffix](tmp_path / f"t{suffix}", trades(2_000))
    batches = iter(TradeReader(path, batch_size=10))
    assert len(next(batches)) == 10
    batches.close()  # unraisable errors from pyarrow's read-ahead would fail the test


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "line_no", "column", "reason"),
    [
        ("3,abc,1,1,1735689600000,True,True", 3, "price", "not a number"),
        ("3,-1,1,1,1735689600000,True,True", 3, "price", "positive"),
        ("3,nan,1,1,1735689600000,True,True", 3, "price", "positive"),
        ("3,1,,1,1735689600000,True,True", 3, "qty", "missing value"),
        ("3,1,-2,1,1735689600000,True,True", 3, "qty", "non-negative"),
        ("x3,1,1,1,1735689600000,True,True", 3, "id", "not an integer"),
        ("3,1,1,1,yesterday,True,True", 3, "time", "ISO-8601"),
        ("3,1,1,1,-5,True,True", 3, "time", "before 1970"),
        ("3,1,1,1,1735689600000,maybe,True", 3, "isBuyerMaker", "true or false"),
        ("3,1,1,1,1735689600000,True", 3, None, "expected 7 fields, got 6"),
        ('3,"1,1,1735689600000,True,True', 3, None, "several lines"),
    ],
)
def test_bad_csv_row_names_line_and_column(
    tmp_path: Path, line: str, line_no: int, column: str | None, reason: str
) -> None:
    good = "".join(map(binance_line, trades(2)))
    path = write(tmp_path / "t.csv", good + line + "\n" + binance_line(trades(1, start=4)[0]))
    with pytest.raises(ImportFormatError, match=reason) as caught:
        read_all(path)
    assert (caught.value.line_no, caught.value.column) == (line_no, column)
    assert f"line {line_no}" in str(caught.value)


def test_bad_row_deep_in_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_reader, "_CSV_BLOCK_SIZE", 4096)
    lines = ["id,price,qty,time\n"] + [f"{i},1.5,2,{T0_MS + i}\n" for i in range(1, 2_000)]
    lines[1_500] = "1500,1.5,2,\n"
    path = write(tmp_path / "t.csv", "".join(lines))
    produced = []
    with pytest.raises(ImportFormatError) as caught:
        for batch in read_trades(path, batch_size=100):
            produced.extend(batch)
    assert (caught.value.line_no, caught.value.column, caught.value.reason) == (
        1_501,
        "time",
        "missing value",
    )
    assert [t.trade_id for t in produced] == list(range(1, len(produced) + 1))


def test_header_without_id_column_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", f"price,qty,time\n1,2,{T0_MS}\n")
    with pytest.raises(ImportFormatError, match="no trade id column") as caught:
        read_all(path)
    assert caught.value.line_no == 1


def test_headerless_csv_that_is_not_binance_trades(tmp_path: Path) -> None:
    path = write(tmp_path / "agg.csv", "1,2,3,4,5,1735689600000,True,True\n")  # aggTrades
    with pytest.raises(ImportFormatError, match="got 8 fields"):
        read_all(path)


@pytest.mark.parametrize(
    ("text", "line_no", "column", "reason"),
    [
        (
            '{"id":1,"p":1,"q":1,"T":1735689600000}\n{"id":2,"p":1,"q":1,"T":',
            2,
            None,
            "invalid JSON",
        ),
        ('{"id":1,"p":1,"q":1,"T":1735689600000}\n\n[1,2]\n', 3, None, "JSON object"),
        ('{"id":1,"p":1,"q":1,"T":1735689600000}\n{"id":2,"p":1,"T":1}\n', 2, "q", "missing value"),
        (
            '{"id":1,"p":1,"q":1,"T":1735689600000}\n{"id":2.5,"p":1,"q":1,"T":1}\n',
            2,
            "id",
            "integer",
        ),
        ('{"id":true,"p":1,"q":1,"T":1735689600000}\n', 1, "id", "integer"),
        ('{"id":1,"p":"1","q":1,"T":1735689600000,"m":"yes"}\n', 1, "m", "true or false"),
    ],
)
def test_bad_jsonl_line(
    tmp_path: Path, text: str, line_no: int, column: str | None, reason: str
) -> None:
    path = write(tmp_path / "t.jsonl", text)
    with pytest.raises(ImportFormatError, match=reason) as caught:
        read_all(path)
    assert (caught.value.line_no, caught.value.column) == (line_no, column)


def test_bad_parquet_value_names_row_and_column(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    table = pa.table(
        {"id": [1, 2, 3], "price": [1.0, None, 1.0], "qty": [1, 1, 1], "ts": [T0_MS] * 3}
    )
    pq.write_table(table, path)
    with pytest.raises(ImportFormatError, match=r"row 2: column 'price': missing value"):
        read_all(path, batch_size=1)


def test_truncated_gzip(tmp_path: Path) -> None:
    path = tmp_path / "t.csv.gz"
    path.write_bytes(gzip.compress("".join(map(binance_line, trades(2000))).encode())[:-200])
    with pytest.raises(ImportFormatError, match="truncated"):
        read_all(path)


# --- round trip ---------------------------------------------------------------------------


def write_binance_us(path: Path, rows: Sequence[Trade]) -> Path:
    return write(path, "".join(binance_line(t) for t in rows))


def write_binance_ms(path: Path, rows: Sequence[Trade]) -> Path:
    return write(path, "".join(binance_line(t, ms=True) for t in rows))


def write_header_csv(path: Path, rows: Sequence[Trade]) -> Path:
    side = {True: "sell", False: "buy", None: ""}
    body = "".join(
        f"{t.trade_id},{t.price!r},{t.qty!r},{t.ts},{side[t.is_buyer_maker]}\n" for t in rows
    )
    return write(path, "trade_id,price,amount,timestamp,side\n" + body)


def write_jsonl(path: Path, rows: Sequence[Trade]) -> Path:
    objects = [
        {"t": t.trade_id, "p": str(t.price), "q": t.qty, "T": t.ts, "m": t.is_buyer_maker}
        for t in rows
    ]
    return write(path, "".join(json.dumps(obj) + "\n" for obj in objects))


def write_parquet(path: Path, rows: Sequence[Trade]) -> Path:
    table = pa.table(
        {
            "id": pa.array([t.trade_id for t in rows], pa.int64()),
            "price": pa.array([t.price for t in rows], pa.float64()),
            "qty": pa.array([t.qty for t in rows], pa.float64()),
            "time": pa.array([t.ts for t in rows], pa.timestamp("us")),
            "is_buyer_maker": pa.array([t.is_buyer_maker for t in rows], pa.bool_()),
        }
    )
    pq.write_table(table, path)
    return path


def write_zip(path: Path, rows: Sequence[Trade]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("BTCUSDT-trades-2025-01.csv", "".join(map(binance_line, rows)))
    return path


def write_gzip(path: Path, rows: Sequence[Trade]) -> Path:
    path.write_bytes(gzip.compress(write_header_csv(path.with_suffix(""), rows).read_bytes()))
    return path


WRITERS: dict[str, Callable[[Path, Sequence[Trade]], Path]] = {
    ".csv": write_binance_us,
    ".csv.gz": write_gzip,
    ".zip": write_zip,
    ".jsonl": write_jsonl,
    ".parquet": write_parquet,
}
ROUND_TRIP = [
    ("binance-us.csv", write_binance_us, False),
    ("binance-ms.csv", write_binance_ms, False),
    ("header.csv", write_header_csv, True),
    ("t.csv.gz", write_gzip, True),
    ("t.zip", write_zip, False),
    ("t.jsonl", write_jsonl, True),
    ("t.parquet", write_parquet, True),
]

finite = {"allow_nan": False, "allow_infinity": False}
trade_st = st.builds(
    Trade,
    trade_id=st.integers(0, 2**63 - 1),
    # 2000-01-01 .. 2100-01-01 in µs; any unit rule would read these as µs
    ts=st.integers(946_684_800_000_000, 4_102_444_800_000_000),
    price=st.floats(min_value=0, exclude_min=True, **finite),  # type: ignore[arg-type]
    qty=st.floats(min_value=0, **finite),  # type: ignore[arg-type]
    is_buyer_maker=st.one_of(st.none(), st.booleans()),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(trade_st, max_size=30), batch_size=st.integers(1, 8))
def test_round_trip_every_format(rows: list[Trade], batch_size: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for name, writer, keeps_unknown_side in ROUND_TRIP:
            expected = [
                Trade(
                    t.trade_id,
                    t.ts - t.ts % 1_000 if writer is write_binance_ms else t.ts,
                    t.price,
                    t.qty,
                    t.is_buyer_maker if keeps_unknown_side else bool(t.is_buyer_maker),
                )
                for t in rows
            ]
            path = writer(Path(tmp) / name, expected)
            batches = list(read_trades(path, batch_size=batch_size))
            assert all(len(b) == batch_size for b in batches[:-1]), name
            assert [t for b in batches for t in b] == expected, name
