"""The live scanner and the backtest raise the same alerts, alert for alert.

A history (with a quiet minute, on two instruments) is stored through the real writer;
the live scanner is stepped close by close with `scan(T)`, the real scan path, then the
same stored strategies are backtested over the same candles. The scanner's history is
short (`TICKHUB_SCANNER_HISTORY=20`), so recursive indicators (`ema`, `rsi`, `macd`)
would give other values over any other history: the alerts, their values and their
closes must match exactly.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.conftest import store
from tests.fixtures.accounts import User, signup
from tests.integration.alerts.test_scanner import add_strategy
from tickhub.alerts.scanner import Scanner
from tickhub.marketdata.events import Trade
from tickhub.runtime import Runtime
from tickhub.settings import ScannerSettings, Settings

MIN = 60_000_000
T0 = int(datetime(2026, 2, 2, tzinfo=UTC).timestamp()) * 1_000_000
MINUTES = 230
QUIET = {97, 161}  # no trade: no candle
FIRST, LAST = 40, 229  # the scanner sees the strategies first at T0 + FIRST minutes
HISTORY = 20
CONDITIONS = {
    "rsi": ("rsi(14) < 45", 0),
    "ema cross": ("crosses_above(ema(close, 5), ema(close, 12))", 0),
    "macd": ("macd_hist(12, 26, 9) > 0 and close > ema(close, 30)", 0),  # lookback > 20
    "cooled": ("atr(7) > 0.4 and close > vwap", 300),
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    settings.scanner = ScannerSettings(_env_file=None, history=HISTORY, catch_up=60)
    return settings


def price(symbol: str, i: int) -> tuple[float, float]:
    wave = 4 * math.sin(i / 9.0) + 1.5 * math.sin(i / 2.3) + 0.03 * (i % 17)
    base = 100.0 if symbol == "BTCUSDT" else 50.0
    return base + wave - 0.4 * math.cos(i), base + wave


def trades(symbol: str) -> list[Trade]:
    out: list[Trade] = []
    for i in range(MINUTES):
        if i in QUIET:
            continue
        first, last = price(symbol, i)
        out.append(Trade(2 * i + 1, T0 + i * MIN + 5_000_000, first, 1.0 + i % 3))
        out.append(Trade(2 * i + 2, T0 + i * MIN + 45_000_000, last, 2.0))
    return out


@pytest.fixture
async def alice(client: httpx.AsyncClient, runtime: Runtime) -> User:
    await store(runtime, "binance", "BTCUSDT", trades("BTCUSDT"))
    await store(runtime, "binance", "ETHUSDT", trades("ETHUSDT"))
    return await signup(client, "alice@example.com")


def iso(us: int) -> str:
    return datetime.fromtimestamp(us / 1e6, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


Key = tuple[str, str, str, str, str, tuple[tuple[str, float | None], ...], float]


async def test_scanner_and_backtest_raise_the_same_alerts(
    client: httpx.AsyncClient, runtime: Runtime, alice: User
) -> None:
    engine = runtime.engine
    ids: dict[str, int] = {}
    for name, (condition, cooldown) in CONDITIONS.items():
        ids[name] = await add_strategy(
            engine, alice.id, name, condition, cooldown_s=cooldown,
            instruments=["binance:BTCUSDT", "binance:ETHUSDT"],
        )  # fmt: skip

    scanner = Scanner(
        engine,
        runtime.settings.scanner,
        clock=lambda: T0 / 1e6 + MINUTES * 60,
    )
    live: dict[int, list[Key]] = {sid: [] for sid in ids.values()}
    for minute in range(FIRST, LAST + 1):
        result = await scanner.scan(T0 + minute * MIN)
        assert result.failed == 0
        for a in result.alerts:
            live[a.strategy_id].append(
                (a.exchange, a.symbol, iso(a.candle_start), iso(a.candle_close), a.condition,
                 tuple(sorted(a.values.items())), a.close)
            )  # fmt: skip

    tested: dict[int, list[Key]] = {}
    for sid in ids.values():
        body = {
            "strategy_id": sid,
            "start": iso(T0 + (FIRST - 1) * MIN),
            "end": iso(T0 + LAST * MIN),
        }
        r = await client.post("/v1/strategies/backtest", json=body, headers=alice.headers)
        assert r.status_code == 200, r.text
        found: list[Any] = r.json()["alerts"]
        tested[sid] = [
            (a["instrument"]["exchange"], a["instrument"]["symbol"], a["candle_start"],
             a["candle_close"], a["condition"], tuple(sorted(a["values"].items())), a["close"])
            for a in found
        ]  # fmt: skip

    def order(keys: list[Key]) -> list[Key]:
        return sorted(keys, key=lambda k: (k[0], k[1], k[2]))

    for name, sid in ids.items():
        assert order(live[sid]) == order(tested[sid]), name
    # the comparison is not empty, and each condition alerted on both instruments
    for name, sid in ids.items():
        assert {k[1] for k in live[sid]} == {"BTCUSDT", "ETHUSDT"}, name
    assert sum(len(v) for v in live.values()) > 40
