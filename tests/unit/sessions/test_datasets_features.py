"""Training data sets, the pure parts: feature grammar, indicator values against hand
computations, the definition checks, the content hash and the output formats."""

from __future__ import annotations

import io
import math
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from tickhub.common.errors import Invalid
from tickhub.sessions.datasets import (
    DatasetError,
    FeatureError,
    Series,
    content_hash,
    parse_definition,
    parse_feature,
    parse_features,
)
from tickhub.sessions.datasets._formats import (
    NotAcceptable,
    choose_format,
    csv_stream,
    json_stream,
    parquet_stream,
)


def series(closes: list[float]) -> Series:
    return Series.of([(c, c + 1, c - 1, c, 1.0, c, 1, c) for c in closes])


def values(feature: str, closes: list[float]) -> list[float | None]:
    (col,) = parse_feature(feature).compute(series(closes))
    return [None if math.isnan(v) else v for v in col.tolist()]


# ---------------------------------------------------------------- grammar


@pytest.mark.parametrize(
    ("text", "kind", "params", "columns"),
    [
        ("close", "close", (), ("close",)),
        ("RSI_14", "rsi", (14,), ("rsi_14",)),
        ("rsi", "rsi", (14,), ("rsi",)),
        ("return", "return", (1,), ("return",)),
        ("log_return_5", "log_return", (5,), ("log_return_5",)),
        ("macd", "macd", (12, 26, 9), ("macd",)),
        ("macd_signal_5_10_3", "macd_signal", (5, 10, 3), ("macd_signal_5_10_3",)),
        (
            "bbands_20",
            "bbands",
            (20, 2),
            ("bbands_20_upper", "bbands_20_middle", "bbands_20_lower"),
        ),
        ("atr_1", "atr", (1,), ("atr_1",)),
        ("ema_10000", "ema", (10000,), ("ema_10000",)),
    ],
)
def test_valid_features(
    text: str, kind: str, params: tuple[int, ...], columns: tuple[str, ...]
) -> None:
    f = parse_feature(text)
    assert (f.kind, f.params, f.columns) == (kind, params, columns)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("foo", "unknown feature"),
        ("rsi_", "unknown feature"),
        ("bbands_20_upper", "unknown feature"),
        ("close; drop table", "unknown feature"),
        (5, "a feature is a string"),
        (None, "a feature is a string"),
        ("close_5", "takes 0 parameter"),
        ("macd_12_26", "takes 0 or 3"),
        ("rsi_1", "outside 2..10000"),
        ("ema_10001", "outside 2..10000"),
        ("return_0", "outside 1..10000"),
        ("macd_26_12_9", "fast period"),
        ("bbands_20_0", "outside 1..10000"),
    ],
)
def test_invalid_features(text: object, message: str) -> None:
    with pytest.raises(FeatureError, match=message):
        parse_feature(text)


def test_feature_lists() -> None:
    with pytest.raises(FeatureError, match="repeated"):
        parse_features(["close", "CLOSE"])
    with pytest.raises(FeatureError, match="at least one"):
        parse_features([])
    with pytest.raises(FeatureError, match="at most"):
        parse_features([f"ema_{n}" for n in range(2, 100)])


# ---------------------------------------------------------------- values


def test_returns() -> None:
    assert values("return", [100, 110, 99]) == [None, pytest.approx(0.1), pytest.approx(-0.1)]
    assert values("return_2", [100, 110, 99]) == [None, None, pytest.approx(-0.01)]
    logs = values("log_return", [100, 110, 99])
    assert logs[0] is None
    assert logs[1:] == [pytest.approx(math.log(1.1)), pytest.approx(math.log(0.9))]
    assert values("return_5", [1, 2]) == [None, None]


def test_moving_averages_by_hand() -> None:
    closes = [1.0, 2, 4, 8, 4, 2]
    assert values("sma_3", closes) == [
        None,
        None,
        pytest.approx(7 / 3),
        pytest.approx(14 / 3),
        pytest.approx(16 / 3),
        pytest.approx(14 / 3),
    ]
    # TA-Lib's EMA: seeded with the SMA of the first period, then k = 2 / (n + 1)
    assert values("ema_3", closes) == [
        None,
        None,
        pytest.approx(7 / 3),
        pytest.approx(31 / 6),
        pytest.approx(55 / 12),
        pytest.approx(79 / 24),
    ]


def test_rsi_by_hand() -> None:
    # Wilder: the first averages are plain means of the gains/losses, then smoothed
    closes = [1.0, 2, 4, 8, 4, 2, 3]
    got = values("rsi_3", closes)
    assert got[:3] == [None, None, None]
    assert got[3:] == [
        pytest.approx(100.0),
        pytest.approx(100 * 14 / 26),
        pytest.approx(40.0),
        pytest.approx(100 * 83 / 167),
    ]


def test_macd_and_bbands_are_consistent() -> None:
    closes = [float(100 + 10 * math.sin(i / 3) + i) for i in range(80)]
    s = series(closes)
    macd, signal, hist = (
        parse_feature(n).compute(s)[0] for n in ("macd", "macd_signal", "macd_hist")
    )
    ok = ~np.isnan(hist)
    assert ok.sum() == 80 - 33
    np.testing.assert_allclose(hist[ok], (macd - signal)[ok])
    upper, middle, lower = parse_feature("bbands_20").compute(s)
    sma = parse_feature("sma_20").compute(s)[0]
    np.testing.assert_allclose(middle[19:], sma[19:])
    std = np.array([np.std(closes[i - 19 : i + 1]) for i in range(19, 80)])
    np.testing.assert_allclose(upper[19:], sma[19:] + 2 * std)
    np.testing.assert_allclose(lower[19:], sma[19:] - 2 * std)


def test_empty_series_and_columns() -> None:
    empty = Series.of([])
    assert [len(c) for c in parse_feature("bbands").compute(empty)] == [0, 0, 0]
    assert values("trade_count", [5, 6]) == [1, 1]
    assert values("vwap", [5, 6]) == [5, 6]


# ---------------------------------------------------------------- definitions

BODY: dict[str, Any] = {
    "instruments": ["binance:BTCUSDT", "ETH-USDT", {"symbol": "BNBBTC", "exchange": "binance"}],
    "interval": "1h",
    "start": "2025-01-01T00:00:00Z",
    "end": "2025-01-02",
    "features": ["close", "rsi_14"],
}


def test_definition() -> None:
    d = parse_definition(BODY, "set-1")
    assert d.label == "set-1"
    assert [(i.exchange, i.symbol) for i in d.instruments] == [
        ("binance", "BTCUSDT"),
        (None, "ETH-USDT"),
        ("binance", "BNBBTC"),
    ]
    assert d.end - d.start == 86_400_000_000
    assert d.columns == ["time", "instrument", "close", "rsi_14"]
    assert parse_definition({**BODY, "label": "x"}, None).label == "x"


@pytest.mark.parametrize(
    ("patch", "label", "field"),
    [
        ({"interval": None, "start": None}, "a", "interval,start"),
        ({}, None, "label"),
        ({"instruments": "BTCUSDT"}, "a", "instruments"),
        ({"instruments": ["binance:BTCUSDT", 3]}, "a", "instruments[1]"),
        ({"instruments": [{"symbol": "BTC", "venue": "x"}]}, "a", "instruments[0]"),
        ({"interval": 60}, "a", "interval"),
        ({"interval": "1x"}, "a", "interval"),
        ({"start": "yesterday"}, "a", "start"),
        ({"start": True}, "a", "start"),
        ({"end": "2024-12-31"}, "a", "end"),
        ({"features": ["close", "nope"]}, "a", "features[1]"),
        ({"features": "close"}, "a", "features"),
        ({"features": ["close", "close"]}, "a", "features"),
        ({"tz": "Mars/Olympus"}, "a", "tz"),
        ({"colour": 1}, "a", "colour"),
        ({"label": "b"}, "a", "label"),
        ({}, "bad label!", "label"),
    ],
)
def test_bad_definitions(patch: dict[str, Any], label: str | None, field: str) -> None:
    with pytest.raises(DatasetError) as info:
        parse_definition({**BODY, **patch}, label)
    assert info.value.field == field
    assert isinstance(info.value, Invalid)


def test_body_must_be_an_object() -> None:
    with pytest.raises(DatasetError, match="JSON object"):
        parse_definition([1], "a")


# ---------------------------------------------------------------- hash and formats

COLUMNS = ["time", "instrument", "close", "trade_count", "rsi_2"]
ROWS: list[tuple[int, str, list[Any]]] = [
    (1_735_689_600_000_000, "binance:BTCUSDT", [100.5, 3, None]),
    (1_735_689_660_000_000, "binance:BTCUSDT", [0.1 + 0.2, 4, 12.25]),
]


def test_content_hash() -> None:
    h = content_hash(COLUMNS, ROWS)
    assert h == content_hash(COLUMNS, list(ROWS)) and len(h) == 64
    assert content_hash(COLUMNS, [ROWS[0], (ROWS[1][0], ROWS[1][1], [0.3, 4, 12.25])]) != h
    assert content_hash([*COLUMNS[:4], "rsi_3"], ROWS) != h
    assert content_hash(COLUMNS, ROWS[:1]) != h


@pytest.mark.parametrize(
    ("fmt", "accept", "expected"),
    [
        (None, None, "json"),
        (None, "text/csv", "csv"),
        (None, "application/vnd.apache.parquet", "parquet"),
        (None, "text/csv;q=0.5, application/x-parquet", "parquet"),
        (None, "image/png, */*;q=0.1", "json"),
        ("CSV", "application/json", "csv"),
    ],
)
def test_choose_format(fmt: str | None, accept: str | None, expected: str) -> None:
    assert choose_format(fmt, accept) == expected


def test_choose_format_errors() -> None:
    with pytest.raises(DatasetError) as info:
        choose_format("xml", None)
    assert info.value.field == "format"
    with pytest.raises(NotAcceptable):
        choose_format(None, "image/png")


async def _pages() -> AsyncIterator[list[tuple[int, str, list[Any]]]]:
    yield ROWS[:1]
    yield []
    yield ROWS[1:]


async def _collect(stream: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in stream])


async def test_formats_agree() -> None:
    import orjson

    doc = orjson.loads(await _collect(json_stream({"label": "x"}, COLUMNS, _pages())))
    assert doc["label"] == "x"
    assert doc["rows"] == [
        {
            "time": "2025-01-01T00:00:00.000000Z",
            "instrument": "binance:BTCUSDT",
            "close": 100.5,
            "trade_count": 3,
            "rsi_2": None,
        },
        {
            "time": "2025-01-01T00:01:00.000000Z",
            "instrument": "binance:BTCUSDT",
            "close": 0.1 + 0.2,
            "trade_count": 4,
            "rsi_2": 12.25,
        },
    ]
    text = (await _collect(csv_stream(COLUMNS, _pages()))).decode()
    assert text.splitlines() == [
        "time,instrument,close,trade_count,rsi_2",
        "2025-01-01T00:00:00.000000Z,binance:BTCUSDT,100.5,3,",
        "2025-01-01T00:01:00.000000Z,binance:BTCUSDT,0.30000000000000004,4,12.25",
    ]
    table = pq.read_table(io.BytesIO(await _collect(parquet_stream(COLUMNS, _pages()))))
    assert table.column_names == COLUMNS
    assert table.column("close").to_pylist() == [100.5, 0.1 + 0.2]
    assert table.column("trade_count").to_pylist() == [3, 4]
    assert table.column("rsi_2").to_pylist() == [None, 12.25]
    assert [t.timestamp() * 1e6 for t in table.column("time").to_pylist()] == [r[0] for r in ROWS]


async def test_empty_parquet_is_readable() -> None:
    async def none() -> AsyncIterator[list[tuple[int, str, list[Any]]]]:
        return
        yield []

    table = pq.read_table(io.BytesIO(await _collect(parquet_stream(COLUMNS, none()))))
    assert table.num_rows == 0 and table.column_names == COLUMNS


AWKWARD: list[tuple[int, str, list[Any]]] = [
    (0, "binance:BTCUSDT", [0.1 + 0.2, 3, None]),
    (1_735_689_600_123_456, "binance:BTCUSDT", [1e-7, 0, -0.0]),
    (1_735_689_660_000_001, "coinbase:BTC-USD", [1e22, 2**62, 5e-324]),
    (253_402_300_799_999_999, 'x:"quoted"\\', [-1.5, -(2**63), 1.7976931348623157e308]),
]


async def test_page_encodings_are_the_row_by_row_ones() -> None:
    # What the page-at-a-time encoders replace: a dict and a formatted time per row.
    import csv

    import orjson

    from tickhub.common.time import format_time, from_us

    def by_row() -> tuple[bytes, bytes]:
        records = [
            dict(zip(COLUMNS, [format_time(from_us(t)), inst, *values], strict=True))
            for t, inst, values in AWKWARD
        ]
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(COLUMNS)
        for t, inst, values in AWKWARD:
            cells = ["" if v is None else repr(v) if isinstance(v, float) else v for v in values]
            writer.writerow([format_time(from_us(t)), inst, *cells])
        return b",".join(orjson.dumps(r) for r in records), text.getvalue().encode()

    async def pages() -> AsyncIterator[list[tuple[int, str, list[Any]]]]:
        yield AWKWARD[:3]
        yield AWKWARD[3:]

    want_json, want_csv = by_row()
    got_json = await _collect(json_stream({"label": "x"}, COLUMNS, pages()))
    assert got_json == b'{"label":"x","rows":[' + want_json + b"]}"
    assert await _collect(csv_stream(COLUMNS, pages())) == want_csv
