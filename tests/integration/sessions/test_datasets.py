"""Training data sets over HTTP (`/crypto/training_data`), on SQLite and PostgreSQL:
materialised rows equal a recomputation from the stored candles, hashes are reproducible,
the three formats agree, replace and delete, ownership, and bad input."""

from __future__ import annotations

import csv
import io
import math
from typing import Any

import httpx
import numpy as np
import pyarrow.parquet as pq
import pytest
import talib
from talib._ta_lib import MA_Type

from tests.conftest import store
from tests.fixtures.accounts import User, admin, signup
from tickhub.marketdata import service as md
from tickhub.marketdata.events import Trade
from tickhub.runtime import Runtime

T0 = 1_735_689_600_000_000  # 2025-01-01T00:00:00Z
MIN = 60_000_000
URL = "/crypto/training_data"
FEATURES = [
    "close",
    "volume",
    "trade_count",
    "vwap",
    "return",
    "log_return",
    "rsi_14",
    "ema_10",
    "sma_5",
    "macd",
    "macd_signal",
    "macd_hist",
    "bbands_20",
    "atr_14",
]
DEFINITION: dict[str, Any] = {
    "instruments": ["binance:BTCUSDT", "ETHUSDT"],
    "interval": "1m",
    "start": "2025-01-01T00:00:00Z",
    "end": "2025-01-01T01:00:00Z",
    "features": FEATURES,
}


def trades(base: float, minutes: int, first_id: int = 1, start: int = T0) -> list[Trade]:
    """Three trades a minute at prices that wander up and down."""
    out = []
    for i in range(minutes * 3):
        price = base + 7 * math.sin(i / 5) + (i % 7) - 3
        out.append(Trade(first_id + i, start + i * MIN // 3 + 1000, price, 0.1 + (i % 4) / 10))
    return out


@pytest.fixture
async def data(runtime: Runtime) -> None:
    await store(runtime, "binance", "BTCUSDT", trades(60_000, 60))
    await store(runtime, "binance", "ETHUSDT", trades(3_000, 45))


@pytest.fixture
async def user(client: httpx.AsyncClient) -> User:
    return await signup(client, "ada@example.com")


@pytest.fixture
async def other(client: httpx.AsyncClient) -> User:
    return await signup(client, "bob@example.com")


async def create(client: httpx.AsyncClient, who: User, label: str, **patch: Any) -> httpx.Response:
    return await client.post(f"{URL}/{label}", json={**DEFINITION, **patch}, headers=who.headers)


async def expected_rows(runtime: Runtime) -> list[dict[str, Any]]:
    """The rows recomputed here from `service.candles` and TA-Lib."""
    out: list[tuple[int, int, dict[str, Any]]] = []
    async with runtime.engine.connect() as conn:
        reads = md.reads_on(conn)
        for n, symbol in enumerate(["BTCUSDT", "ETHUSDT"]):
            inst = await md.resolve_instrument(reads, symbol, "binance")
            candles = await md.candles(reads, inst, md.interval_or_error("1m"), T0, T0 + 60 * MIN)
            close = np.array([c.close for c in candles])
            high = np.array([c.high for c in candles])
            low = np.array([c.low for c in candles])
            ret = np.full(len(close), np.nan)
            ret[1:] = close[1:] / close[:-1] - 1
            logret = np.full(len(close), np.nan)
            logret[1:] = np.log(close[1:] / close[:-1])
            macd, signal, hist = talib.MACD(close, 12, 26, 9)
            upper, middle, lower = talib.BBANDS(close, 20, 2, 2, MA_Type.SMA)
            cols: dict[str, Any] = {
                "close": close,
                "volume": [c.volume for c in candles],
                "trade_count": [c.trade_count for c in candles],
                "vwap": [c.vwap for c in candles],
                "return": ret,
                "log_return": logret,
                "rsi_14": talib.RSI(close, 14),
                "ema_10": talib.EMA(close, 10),
                "sma_5": talib.SMA(close, 5),
                "macd": macd,
                "macd_signal": signal,
                "macd_hist": hist,
                "bbands_20_upper": upper,
                "bbands_20_middle": middle,
                "bbands_20_lower": lower,
                "atr_14": talib.ATR(high, low, close, 14),
            }
            for j, c in enumerate(candles):
                row: dict[str, Any] = {
                    "time": f"{np.datetime64(c.start, 'us')}Z",
                    "instrument": f"binance:{symbol}",
                }
                for name, col in cols.items():
                    v = col[j]
                    row[name] = None if v is None or (isinstance(v, float) and math.isnan(v)) else v
                out.append((c.start, n, row))
    return [r for _, _, r in sorted(out, key=lambda k: (k[0], k[1]))]


async def test_rows_equal_a_recomputation_from_the_candles(
    client: httpx.AsyncClient, runtime: Runtime, data: None, user: User
) -> None:
    r = await create(client, user, "set-1")
    assert r.status_code == 201, r.text
    meta = r.json()
    assert meta["rows"] == 60 + 45
    assert meta["label"] == "set-1" and meta["owner"] == user.id
    assert meta["definition"]["instruments"] == ["binance:BTCUSDT", "binance:ETHUSDT"]
    assert meta["start"] == "2025-01-01T00:00:00.000000Z"
    assert meta["first"] == "2025-01-01T00:00:00.000000Z"
    assert meta["last"] == "2025-01-01T00:59:00.000000Z"
    assert meta["columns"][:3] == ["time", "instrument", "close"]

    got = await client.get(f"{URL}/set-1", headers=user.headers)
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("application/json")
    doc = got.json()
    assert doc["hash"] == meta["hash"] and doc["row_count"] == 105
    want = await expected_rows(runtime)
    assert len(doc["rows"]) == len(want)
    for a, b in zip(doc["rows"], want, strict=True):
        assert a.keys() == b.keys()
        for k in a:
            if isinstance(b[k], float):
                assert a[k] == pytest.approx(b[k], rel=1e-12, abs=1e-12), (k, a, b)
            else:
                assert a[k] == b[k], (k, a, b)
    rsi = [row["rsi_14"] for row in doc["rows"] if row["instrument"] == "binance:BTCUSDT"]
    assert rsi[:14] == [None] * 14 and all(v is not None for v in rsi[14:])


async def test_hash_is_reproducible_and_follows_the_data(
    client: httpx.AsyncClient, runtime: Runtime, data: None, user: User
) -> None:
    first = (await create(client, user, "a")).json()
    again = await create(client, user, "a")
    assert again.status_code == 200  # replaced
    assert again.json()["hash"] == first["hash"]
    twin = (await create(client, user, "b")).json()
    assert twin["hash"] == first["hash"]
    listed = (await client.get(URL, headers=user.headers)).json()
    assert [d["label"] for d in listed] == ["a", "b"]
    assert {"label", "definition", "rows", "start", "end", "created", "hash"} <= listed[0].keys()

    # another trade in the range changes the data, so the hash
    await store(runtime, "binance", "ETHUSDT", [Trade(10_000, T0 + 50 * MIN, 3_100.0, 1.0)])
    changed = (await create(client, user, "a")).json()
    assert changed["hash"] != first["hash"] and changed["rows"] == 106
    # a replayed trade changes nothing
    await store(runtime, "binance", "ETHUSDT", [Trade(10_000, T0 + 50 * MIN, 3_100.0, 1.0)])
    assert (await create(client, user, "a")).json()["hash"] == changed["hash"]
    # a different definition, a different hash
    other = (await create(client, user, "a", features=["close"])).json()
    assert other["hash"] != changed["hash"]
    assert other["columns"] == ["time", "instrument", "close"]


async def test_json_csv_and_parquet_agree(
    client: httpx.AsyncClient, data: None, user: User
) -> None:
    assert (await create(client, user, "fmt")).status_code == 201
    rows = (await client.get(f"{URL}/fmt", headers=user.headers)).json()["rows"]

    by_accept = await client.get(f"{URL}/fmt", headers={**user.headers, "Accept": "text/csv"})
    by_param = await client.get(f"{URL}/fmt?format=csv", headers=user.headers)
    assert by_accept.headers["content-type"].startswith("text/csv")
    assert by_accept.content == by_param.content
    parsed = list(csv.DictReader(io.StringIO(by_accept.text)))
    assert len(parsed) == len(rows)
    for a, b in zip(parsed, rows, strict=True):
        for k, v in b.items():
            if v is None:
                assert a[k] == ""
            elif isinstance(v, float):
                assert float(a[k]) == v
            else:
                assert a[k] == str(v)

    pq_resp = await client.get(
        f"{URL}/fmt", headers={**user.headers, "Accept": "application/vnd.apache.parquet"}
    )
    assert pq_resp.status_code == 200
    assert pq_resp.headers["content-type"] == "application/vnd.apache.parquet"
    table = pq.read_table(io.BytesIO(pq_resp.content))
    assert table.column_names == list(rows[0].keys())
    assert table.schema.metadata[b"tickhub.label"] == b"fmt"
    for a, b in zip(table.to_pylist(), rows, strict=True):
        assert a["time"].strftime("%Y-%m-%dT%H:%M:%S.%fZ") == b["time"]
        assert {k: v for k, v in a.items() if k != "time"} == {
            k: v for k, v in b.items() if k != "time"
        }

    assert (await client.get(f"{URL}/fmt?format=xml", headers=user.headers)).status_code == 400
    r = await client.get(f"{URL}/fmt", headers={**user.headers, "Accept": "image/png"})
    assert r.status_code == 406 and "error" in r.json()


async def test_label_in_body_replace_and_delete(
    client: httpx.AsyncClient, data: None, user: User
) -> None:
    r = await client.post(URL, json={**DEFINITION, "label": "in-body"}, headers=user.headers)
    assert r.status_code == 201, r.text
    r = await client.post(
        f"{URL}/in-body/", json={**DEFINITION, "interval": "5m"}, headers=user.headers
    )
    assert r.status_code == 200 and r.json()["rows"] == 12 + 9
    assert len((await client.get(URL, headers=user.headers)).json()) == 1
    assert (await client.delete(f"{URL}/in-body", headers=user.headers)).status_code == 204
    r = await client.get(f"{URL}/in-body", headers=user.headers)
    assert r.status_code == 404 and "error" in r.json()
    assert (await client.delete(f"{URL}/in-body", headers=user.headers)).status_code == 404
    assert (await client.get(URL, headers=user.headers)).json() == []


async def test_ownership(
    client: httpx.AsyncClient, runtime: Runtime, data: None, user: User, other: User
) -> None:
    assert (await create(client, user, "mine")).status_code == 201
    assert (await client.get(URL, headers=other.headers)).json() == []
    for method in ("GET", "DELETE"):
        r = await client.request(method, f"{URL}/mine", headers=other.headers)
        assert r.status_code == 404 and "error" in r.json()
    # ?owner= does not widen a user's view
    r = await client.get(f"{URL}/mine?owner={user.id}", headers=other.headers)
    assert r.status_code == 404
    # the same label is another data set for another owner
    assert (await create(client, other, "mine", features=["close"])).status_code == 201
    assert (await client.get(f"{URL}/mine", headers=user.headers)).json()["columns"][2:4] == [
        "close",
        "volume",
    ]

    root = await admin(runtime, client)
    listed = (await client.get(URL, headers=root.headers)).json()
    assert sorted(d["owner"] for d in listed) == sorted([user.id, other.id])
    assert [
        d["label"]
        for d in (await client.get(f"{URL}?owner={other.id}", headers=root.headers)).json()
    ] == ["mine"]
    r = await client.get(f"{URL}/mine", headers=root.headers)
    assert r.status_code == 409 and r.json()["field"] == "owner"
    r = await client.get(f"{URL}/mine?owner={other.id}", headers=root.headers)
    assert r.status_code == 200 and r.json()["columns"] == ["time", "instrument", "close"]
    assert (
        await client.delete(f"{URL}/mine?owner={other.id}", headers=root.headers)
    ).status_code == 204
    assert (await client.get(f"{URL}/mine", headers=other.headers)).status_code == 404
    assert (await client.get(f"{URL}/mine", headers=root.headers)).json()["owner"] == user.id
    assert (await client.get(f"{URL}/mine", headers=user.headers)).status_code == 200


async def test_api_key_owner(client: httpx.AsyncClient, data: None, user: User) -> None:
    r = await client.post("/v1/api-keys", json={"name": "bot"}, headers=user.headers)
    assert r.status_code == 201, r.text
    key = {"X-API-Key": r.json()["key"]}
    r = await client.post(f"{URL}/bot", json=DEFINITION, headers=key)
    assert r.status_code == 201 and r.json()["owner"] == user.id
    assert [d["label"] for d in (await client.get(URL, headers=user.headers)).json()] == ["bot"]


async def test_needs_credentials(client: httpx.AsyncClient) -> None:
    assert (await client.get(URL)).status_code == 401
    assert (await client.post(f"{URL}/x", json=DEFINITION)).status_code == 401


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"interval": "1m"}, 400, "instruments,start,end,features"),
        ({**DEFINITION, "instruments": ["binance:DOGEUSDT"]}, 400, "instruments[0]"),
        ({**DEFINITION, "instruments": ["kraken:BTCUSDT"]}, 400, "instruments[0]"),
        ({**DEFINITION, "instruments": ["BTCUSDT", "binance:BTCUSDT"]}, 400, "instruments[1]"),
        ({**DEFINITION, "instruments": [7]}, 400, "instruments[0]"),
        ({**DEFINITION, "features": ["close", "rsi_1"]}, 400, "features[1]"),
        ({**DEFINITION, "features": ["talib.abstract"]}, 400, "features[0]"),
        ({**DEFINITION, "interval": "1y"}, 400, "interval"),
        ({**DEFINITION, "interval": "1s", "end": "2025-02-01"}, 400, "interval"),
        ({**DEFINITION, "start": "2025-13-01"}, 400, "start"),
        ({**DEFINITION, "end": "2024-01-01"}, 400, "end"),
        ({**DEFINITION, "start": 1.5}, 400, "start"),
        ([1, 2], 400, "body"),
    ],
)
async def test_bad_input_names_the_field(
    client: httpx.AsyncClient, data: None, user: User, body: Any, status: int, field: str
) -> None:
    assert (await create(client, user, "keep")).status_code == 201
    before = (await client.get(URL, headers=user.headers)).json()
    r = await client.post(f"{URL}/keep", json=body, headers=user.headers)
    assert r.status_code == status, r.text
    assert r.json()["field"] == field and r.json()["error"]
    # nothing half-written: the previous version is intact
    assert (await client.get(URL, headers=user.headers)).json() == before


async def test_malformed_json_and_bad_labels(client: httpx.AsyncClient, user: User) -> None:
    r = await client.post(f"{URL}/x", content=b"{nope", headers=user.headers)
    assert r.status_code == 400 and r.json()["field"] == "body"
    r = await client.post(f"{URL}/x", content=b"", headers=user.headers)
    assert r.status_code == 400
    r = await client.post(f"{URL}/a%20b", json=DEFINITION, headers=user.headers)
    assert r.status_code == 400 and r.json()["field"] == "label"
    r = await client.post(URL, json=DEFINITION, headers=user.headers)
    assert r.status_code == 400 and "label" in r.json()["error"]
    r = await client.get(f"{URL}/nothing-here", headers=user.headers)
    assert r.status_code == 404 and r.json() == {
        "error": "no training data set labelled 'nothing-here'",
        "field": "data_label",
    }
