"""Hypothesis over the public query parameters of the market reads: any interval, window,
limit, cursor, time and time zone gets an answer (2xx, or a 4xx naming what is wrong),
never a 5xx. Schemathesis covers every route by its schema
(tests/integration/test_openapi_fuzz.py); this drives the values a schema says little
about (free text that the service parses) much harder.

Runs on SQLite, with the app served by its own event loop (as `tickhub api` serves it).
Seeded and bounded: derandomized, a fixed number of examples per route."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.python.asgi import get_client

from tickhub.app import create_app
from tickhub.db import create_engine
from tickhub.marketdata.events import Trade, TradeBatch
from tickhub.marketdata.store.writer import Writer
from tickhub.migrate import upgrade
from tickhub.settings import GatewaySettings, Settings

T0 = 1_735_689_600_000_000  # 2025-01-01T00:00:00Z in µs
EXAMPLES = 120

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


async def _prepare(url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade(engine)
        trades = tuple(
            Trade(i, T0 + i * 7_000_000, 60_000.0 + i % 17, 0.01, i % 2 == 0) for i in range(1, 300)
        )
        await Writer(engine).write(TradeBatch("binance", "BTCUSDT", trades, simulated=False))
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    tmp: Path = tmp_path_factory.mktemp("query-fuzz")
    url = f"sqlite:///{tmp / 'tickhub.db'}"
    asyncio.run(_prepare(url))
    app = create_app(
        Settings(
            _env_file=None,
            env="test",
            data_dir=tmp,
            database_url=url,
            sources=[],
            gateway=GatewaySettings(_env_file=None, rate_limit_reads=""),
        )
    )
    with get_client(app) as c:  # type: ignore[arg-type]
        yield c


# ---------------------------------------------------------------- values


def _cursor(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["0", "-1", "1", "1e309", "NaN", "inf", "0x10", "١٢", " 5", "5 ", ""]),
)
intervals = st.one_of(
    st.from_regex(r"\A-?[0-9]{0,22}[smhdwMyμ]?\Z"),
    st.sampled_from(["1m", "1M", "0m", "1000000000000d", "1w", "7m", "1s", "m", "1 m", "1mm"]),
    st.text(max_size=20),
)
windows = st.one_of(
    st.from_regex(r"\A[0-9]{1,22} ?(minute|minutes|hour|hours|day|days|week|month|year)s?\Z"),
    st.sampled_from(["120 minute", "1 day 2 hours", "0 minute", "-5 minutes", "99999999999 days"]),
    st.text(max_size=30),
)
times = st.one_of(
    st.integers(min_value=-(2**64), max_value=2**64).map(str),
    st.datetimes().map(lambda d: d.isoformat() + "Z"),
    st.sampled_from(["2025-01-01T00:00:00Z", "0000-00-00", "9999-12-31T23:59:59Z", "T", "Z"]),
    st.text(max_size=40),
)
cursors = st.one_of(
    st.text(max_size=80),
    st.builds(
        _cursor,
        st.dictionaries(
            st.sampled_from(["t", "i", "id", "ts", "trade_id", "time"]),
            st.one_of(st.integers(min_value=-(2**70), max_value=2**70), st.text(max_size=5)),
            max_size=3,
        ),
    ),
    st.binary(max_size=40).map(lambda b: base64.urlsafe_b64encode(b).decode()),
)
zones = st.one_of(
    st.sampled_from(["UTC", "Europe/Lisbon", "Asia/Dubai", "../../etc/passwd", "Nowhere/City", ""]),
    st.text(max_size=30),
)
symbols = st.one_of(st.sampled_from(["BTCUSDT", "BTC-USDT", "btcusdt"]), st.text(max_size=20))


def optional(values: st.SearchStrategy[str]) -> st.SearchStrategy[str | None]:
    return st.one_of(st.none(), values)


def _params(**values: str | None) -> dict[str, str]:
    return {k: v for k, v in values.items() if v is not None}


def _no_server_error(client: Any, path: str, params: dict[str, str]) -> None:
    r = client.get(path, params=params)
    assert 200 <= r.status_code < 500, (path, params, r.status_code, r.text[:300])
    if r.status_code >= 400:
        assert r.text, (path, params)


# ---------------------------------------------------------------- routes


@FUZZ
@given(
    symbol=symbols,
    interval=optional(intervals),
    start=optional(times),
    end=optional(times),
    tz=optional(zones),
    limit=optional(numbers),
)
def test_candles(client: Any, **values: str | None) -> None:
    _no_server_error(client, "/v1/candles", _params(**values))


@FUZZ
@given(
    symbol=symbols,
    start=optional(times),
    end=optional(times),
    limit=optional(numbers),
    cursor=optional(cursors),
)
def test_trades(client: Any, **values: str | None) -> None:
    _no_server_error(client, "/v1/trades", _params(**values))


@FUZZ
@given(symbol=symbols, start=optional(times), end=optional(times))
def test_statistics(client: Any, **values: str | None) -> None:
    _no_server_error(client, "/v1/statistics", _params(**values))


@FUZZ
@given(window=windows, ticker=symbols, limit=optional(numbers))
def test_price_history_window(client: Any, window: str, ticker: str, limit: str | None) -> None:
    # Path segments as a client would send them: percent-encoded by httpx.
    path = f"/price-history-minutes/{window}/{ticker}"
    if "/" in window or "/" in ticker or "?" in path or "#" in path or not window or not ticker:
        return  # another path altogether
    _no_server_error(client, path, _params(limit=limit))


@FUZZ
@given(
    limit=optional(numbers),
    start=optional(times),
    end=optional(times),
)
def test_coinmarketcap_history(client: Any, **values: str | None) -> None:
    _no_server_error(client, "/v1/global-metrics/history", _params(**values))
    _no_server_error(client, "/v1/listings", _params(limit=values["limit"]))
