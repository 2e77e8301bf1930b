"""The scanner against a replayed candle series, on SQLite and PostgreSQL.

Trades go through the real writer; strategies are inserted as rows. The expected alerts
are worked out from the prices the test itself generated, with `language.evaluate` (one
condition at a time) as the oracle, then the scanner is stepped minute by minute with
`scan(T)` and must raise exactly those alerts, with their values, once each.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import store
from tickhub.accounts.models import User
from tickhub.alerts.events import AlertRaised
from tickhub.alerts.language import evaluate, explain, parse
from tickhub.alerts.models import AlertDelivery, AlertRow, Strategy, StrategyMark
from tickhub.alerts.scanner import Scanner, ScanResult
from tickhub.db import create_engine
from tickhub.marketdata.events import Trade
from tickhub.runtime import Runtime
from tickhub.settings import ScannerSettings

MIN = 60_000_000
T0 = int(datetime(2026, 1, 5, tzinfo=UTC).timestamp()) * 1_000_000
MINUTES = 60
GAP = 33  # no trade in this minute: its candle does not exist
FIRST, LAST = 20, 60  # scans at T0 + FIRST minutes … T0 + LAST minutes
NOW = datetime(2026, 1, 5, 1, 0, tzinfo=UTC).timestamp()


def prices(i: int) -> tuple[float, float]:
    """(open, close) of minute i: two trades, wandering above and below 104."""
    close = 100 + 6 * math.sin(i / 3.0) + 0.1 * (i % 5)
    return close - 0.5 * math.cos(i), close


def replay() -> list[Trade]:
    out: list[Trade] = []
    for i in range(MINUTES):
        if i == GAP:
            continue
        first, last = prices(i)
        out.append(Trade(2 * i + 1, T0 + i * MIN + 1_000_000, first, 1.0))
        out.append(Trade(2 * i + 2, T0 + i * MIN + 50_000_000, last, 1.0))
    return out


@dataclass(frozen=True)
class Series:
    """The 1m candles the replay makes, worked out from the prices (not read back)."""

    minutes: list[int]
    candles: dict[str, np.ndarray]

    @property
    def closes(self) -> list[int]:
        return [T0 + (i + 1) * MIN for i in self.minutes]


def one_minute_series() -> Series:
    minutes = [i for i in range(MINUTES) if i != GAP]
    opens = np.array([prices(i)[0] for i in minutes])
    closes = np.array([prices(i)[1] for i in minutes])
    return Series(
        minutes,
        {
            "open": opens,
            "high": np.maximum(opens, closes),
            "low": np.minimum(opens, closes),
            "close": closes,
            "volume": np.full(len(minutes), 2.0),
            "vwap": (opens + closes) / 2,
            "trade_count": np.full(len(minutes), 2.0),
        },
    )


def expected_rows(
    condition: str, series: Series, *, cooldown_s: int = 0, first: int = FIRST, last: int = LAST
) -> list[int]:
    """Rows that alert: true by the oracle, closed within the scanned minutes (a strategy
    seen first at T0+first evaluates only the candle closing then), out of cooldown."""
    truth = evaluate(parse(condition), series.candles)
    rows: list[int] = []
    previous: int | None = None
    for row, close in enumerate(series.closes):
        if not truth[row] or not T0 + first * MIN <= close <= T0 + last * MIN:
            continue
        if previous is not None and close - previous < cooldown_s * 1_000_000:
            continue
        rows.append(row)
        previous = close
    return rows


def finite(values: dict[str, float]) -> dict[str, float | None]:
    return {k: v if math.isfinite(v) else None for k, v in values.items()}


# -- rows --------------------------------------------------------------------------------


async def add_user(engine: AsyncEngine) -> str:
    user_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await conn.execute(
            insert(User).values(
                id=user_id, email=f"{user_id}@example.com", password_hash="x", first_name="A",
                last_name="B", is_verified=True, is_admin=False, created_at=now,
                password_changed_at=now,
            )
        )  # fmt: skip
    return user_id


async def add_strategy(
    engine: AsyncEngine,
    user_id: str,
    name: str,
    condition: str,
    *,
    instruments: Sequence[str] = ("binance:BTCUSDT",),
    interval: str = "1m",
    cooldown_s: int = 0,
    active: bool = True,
    channels: Sequence[dict[str, Any]] = (),
) -> int:
    now = datetime.now(UTC)
    minutes = {"1m": 1, "5m": 5, "1h": 60}[interval]
    async with engine.begin() as conn:
        result = await conn.execute(
            insert(Strategy)
            .values(
                user_id=user_id, name=name, instruments=list(instruments), interval=interval,
                interval_s=minutes * 60, condition=condition, cooldown_s=cooldown_s,
                channels=list(channels), active=active, created_at=now, updated_at=now,
            )
            .returning(Strategy.id)
        )  # fmt: skip
        return int(result.scalar_one())


async def alerts(engine: AsyncEngine) -> list[Any]:
    a = AlertRow.__table__.c
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(AlertRow.__table__).order_by(a.strategy_id, a.candle_start)
        )
        return list(rows)


def starts_of(rows: Sequence[Any], strategy_id: int) -> list[int]:
    return [r.candle_start for r in rows if r.strategy_id == strategy_id]


def starts_at(series: Series, rows: Sequence[int]) -> list[int]:
    return [T0 + series.minutes[r] * MIN for r in rows]


def scanner(engine: AsyncEngine, runtime: Runtime | None = None, **settings: Any) -> Scanner:
    options: dict[str, Any] = {"history": 500, "catch_up": 60, **settings}
    return Scanner(
        engine,
        ScannerSettings(_env_file=None, **options),
        publish=None if runtime is None else runtime.bus.publish,
        clock=lambda: NOW,
    )


async def step(s: Scanner, first: int = FIRST, last: int = LAST) -> list[ScanResult]:
    return [await s.scan(T0 + m * MIN) for m in range(first, last + 1)]


@pytest.fixture
async def market(runtime: Runtime) -> Series:
    await store(runtime, "binance", "BTCUSDT", replay())
    # ETHUSDT exists but its only trade is two days old: no candle in any window scanned
    await store(runtime, "binance", "ETHUSDT", [Trade(1, T0 - 2 * 86_400 * 1_000_000, 3_000, 1)])
    return one_minute_series()


# -- tests -------------------------------------------------------------------------------


async def test_replayed_series_raises_exactly_the_expected_alerts(
    runtime: Runtime, market: Series
) -> None:
    engine = runtime.engine
    user = await add_user(engine)
    channels = [
        {"type": "webhook", "url": "https://example.com/hook", "secret": "s3cret-value"},
        {"type": "telegram", "chat_id": "12345"},
        {"type": "email", "to": "ada@example.com"},
    ]
    above = await add_strategy(engine, user, "above", "close > 104", channels=channels)
    cross = await add_strategy(engine, user, "cross", "crosses_above(close, sma(close, 5))")
    cooled = await add_strategy(engine, user, "cooled", "close > 104", cooldown_s=600)
    five = await add_strategy(engine, user, "five", "close > 0", interval="5m")
    both = await add_strategy(engine, user, "both", "close > 0",
                              instruments=["binance:BTCUSDT", "binance:ETHUSDT"])  # fmt: skip
    inactive = await add_strategy(engine, user, "inactive", "close > 0", active=False)
    nowhere = await add_strategy(engine, user, "nowhere", "close > 0",
                                 instruments=["binance:NOPEUSDT", "kraken:BTCUSD"])  # fmt: skip
    published: list[AlertRaised] = []

    async def keep(_topic: str, message: Any) -> None:
        published.append(message)

    await runtime.bus.subscribe("alerts.#", keep)

    results = await step(scanner(engine, runtime))
    await runtime.bus.join()

    assert all(r.failed == 0 for r in results)
    rows = await alerts(engine)
    series = market
    expected = {
        above: expected_rows("close > 104", series),
        cross: expected_rows("crosses_above(close, sma(close, 5))", series),
        cooled: expected_rows("close > 104", series, cooldown_s=600),
        both: expected_rows("close > 0", series),
    }
    for sid, want in expected.items():
        assert want, sid  # every condition holds somewhere in the replay
        assert starts_of(rows, sid) == starts_at(series, want), sid
    assert len(expected[cooled]) < len(expected[above])  # the cooldown held some back
    # 5m candles close at 20, 25, … 60 minutes; each has trades, and close > 0 holds
    assert starts_of(rows, five) == [T0 + m * MIN - 5 * MIN for m in range(FIRST, LAST + 1, 5)]
    assert starts_of(rows, inactive) == [] and starts_of(rows, nowhere) == []
    assert {r.symbol for r in rows} == {"BTCUSDT"}

    # each alert records its candle, close price and the values that made it true
    for r in rows:
        assert r.candle_close == r.candle_start + (5 if r.strategy_id == five else 1) * MIN
        if r.strategy_id == five:
            continue
        row = series.minutes.index((r.candle_start - T0) // MIN)
        assert r.close == series.candles["close"][row]
        assert r.values == finite(explain(parse(r.condition), series.candles, row))
        assert r.user_id == user and r.interval == "1m"
    assert next(r for r in rows if r.strategy_id == cross).values.keys() == {
        "close",
        "sma(close, 5)",
    }

    # one pending delivery per channel, the target without the secret
    async with engine.connect() as conn:
        deliveries = list(await conn.execute(select(AlertDelivery.__table__)))
    above_ids = {r.id for r in rows if r.strategy_id == above}
    mine = [d for d in deliveries if d.alert_id in above_ids]
    assert len(mine) == 3 * len(above_ids) == len(deliveries)
    assert {(d.channel, d.target) for d in mine} == {
        ("webhook", "https://example.com/hook"), ("telegram", "12345"), ("email", "ada@example.com")
    }  # fmt: skip
    assert all(d.status == "pending" and d.attempts == 0 for d in mine)
    assert not any("s3cret" in d.target for d in deliveries)

    # published after commit, one event per stored alert
    assert sorted(e.alert_id for e in published) == sorted(r.id for r in rows)
    assert sum(len(r.alerts) for r in results) == len(rows)
    event = next(e for e in published if e.strategy_id == cross)
    stored = next(r for r in rows if r.id == event.alert_id)
    assert (event.topic, event.candle_start, event.values) == (
        f"alerts.{user}",
        stored.candle_start,
        stored.values,
    )


async def test_restart_does_not_re_raise_and_catches_up(runtime: Runtime, market: Series) -> None:
    engine = runtime.engine
    user = await add_user(engine)
    sid = await add_strategy(engine, user, "above", "close > 104")
    cooled = await add_strategy(engine, user, "cooled", "close > 104", cooldown_s=600)

    await step(scanner(engine), FIRST, 40)
    # the scanner stops; the next one starts at minute 52 and scans the same minutes again
    later = scanner(engine)
    again = await later.scan(T0 + 40 * MIN)
    assert again.alerts == () and again.claimed == 0
    caught = await later.scan(T0 + 52 * MIN)  # closes 41 … 52 were missed: caught up
    assert caught.decisions == 2 * 12
    await step(later, 53, LAST)

    rows = await alerts(engine)
    assert starts_of(rows, sid) == starts_at(market, expected_rows("close > 104", market))
    want = expected_rows("close > 104", market, cooldown_s=600)
    assert starts_of(rows, cooled) == starts_at(market, want)


async def test_catch_up_is_bounded(runtime: Runtime, market: Series) -> None:
    engine = runtime.engine
    user = await add_user(engine)
    sid = await add_strategy(engine, user, "always", "close > 0")
    await scanner(engine).scan(T0 + FIRST * MIN)
    result = await scanner(engine, catch_up=3).scan(T0 + 40 * MIN)
    assert result.decisions == 3  # the three candles closing at 38, 39 and 40 minutes
    rows = await alerts(engine)
    assert starts_of(rows, sid) == [T0 + m * MIN for m in (FIRST - 1, 37, 38, 39)]


async def test_cooldown_holds_a_true_condition_back(runtime: Runtime, market: Series) -> None:
    engine = runtime.engine
    user = await add_user(engine)
    sid = await add_strategy(engine, user, "always", "close > 0", cooldown_s=15 * 60)
    results = await step(scanner(engine))
    rows = await alerts(engine)
    # true at every candle: alerts at closes 20, 35 and 50 minutes, none in between
    assert starts_of(rows, sid) == [T0 + (m - 1) * MIN for m in (20, 35, 50)]
    assert sum(r.decisions for r in results) == LAST - FIRST  # every candle but the gap
    async with engine.connect() as conn:
        mark = (await conn.execute(select(StrategyMark.__table__))).one()
    assert (mark.evaluated_through, mark.last_alert_close) == (T0 + LAST * MIN, T0 + 50 * MIN)


async def test_new_strategy_never_alerts_on_old_history(runtime: Runtime, market: Series) -> None:
    engine = runtime.engine
    user = await add_user(engine)
    sid = await add_strategy(engine, user, "always", "close > 0")
    result = await scanner(engine).scan(T0 + LAST * MIN)
    assert [a.candle_start for a in result.alerts] == [T0 + (LAST - 1) * MIN]
    assert starts_of(await alerts(engine), sid) == [T0 + (LAST - 1) * MIN]
    # a 1h strategy at a minute that closes no hour: the hour that closed at T0
    hourly = await add_strategy(engine, user, "hourly", "close > 0", interval="1h")
    assert (await scanner(engine).scan(T0 + 30 * MIN)).alerts == ()
    assert starts_of(await alerts(engine), hourly) == []


async def test_strategy_without_candles_raises_nothing(runtime: Runtime, market: Series) -> None:
    engine = runtime.engine
    user = await add_user(engine)
    await add_strategy(engine, user, "eth", "close > 0", instruments=["binance:ETHUSDT"])
    await add_strategy(engine, user, "nope", "close > 0", instruments=["binance:NOPEUSDT"])
    await add_strategy(engine, user, "broken", "close >")  # not a condition: skipped
    results = await step(scanner(engine), FIRST, FIRST + 3)
    assert all(r.alerts == () and r.failed == 0 for r in results)
    assert await alerts(engine) == []


async def test_two_scanners_at_once_raise_each_alert_once(
    runtime: Runtime, market: Series, database_url: str
) -> None:
    engine = runtime.engine
    user = await add_user(engine)
    ids = [
        await add_strategy(engine, user, f"s{k}", text, cooldown_s=cooldown)
        for k, (text, cooldown) in enumerate(
            [("close > 104", 0), ("close > 104", 300), ("crosses_above(close, sma(close, 5))", 0),
             ("close > 0", 0), ("close < 98", 120)]
        )
    ]  # fmt: skip
    other = create_engine(database_url)
    try:
        first, second = scanner(engine), scanner(other)
        raised = 0
        for m in range(FIRST, LAST + 1):
            a, b = await asyncio.gather(first.scan(T0 + m * MIN), second.scan(T0 + m * MIN))
            raised += len(a.alerts) + len(b.alerts)
    finally:
        await other.dispose()
    rows = await alerts(engine)
    assert raised == len(rows)
    texts = ["close > 104", "close > 104", "crosses_above(close, sma(close, 5))", "close > 0",
             "close < 98"]  # fmt: skip
    for sid, text, cooldown in zip(ids, texts, [0, 300, 0, 0, 120], strict=True):
        want = expected_rows(text, market, cooldown_s=cooldown)
        assert starts_of(rows, sid) == starts_at(market, want), text


async def test_a_scanner_whose_marks_moved_elsewhere_still_decides_the_close(
    runtime: Runtime, market: Series, database_url: str
) -> None:
    """A scanner claims from the marks it remembers; when another scanner has moved them
    meanwhile, it reads them again and still decides the new close, once."""
    engine = runtime.engine
    sid = await add_strategy(engine, await add_user(engine), "always", "close > 0")
    other = create_engine(database_url)
    try:
        first, second = scanner(engine), scanner(other)
        assert len((await first.scan(T0 + FIRST * MIN)).alerts) == 1
        assert len((await second.scan(T0 + (FIRST + 1) * MIN)).alerts) == 1
        # `first` remembers the mark at FIRST; it is at FIRST + 1 now
        result = await first.scan(T0 + (FIRST + 2) * MIN)
    finally:
        await other.dispose()
    assert [(a.strategy_id, a.candle_close) for a in result.alerts] == [
        (sid, T0 + (FIRST + 2) * MIN)
    ]
    rows = await alerts(engine)
    assert starts_of(rows, sid) == [T0 + (FIRST + k) * MIN - MIN for k in range(3)]


async def test_edits_between_scans_take_effect_at_the_next_scan(
    runtime: Runtime, market: Series
) -> None:
    engine = runtime.engine
    sid = await add_strategy(engine, await add_user(engine), "never", "close > 1000000")
    s = scanner(engine)
    assert (await s.scan(T0 + FIRST * MIN)).alerts == ()

    async def edit(**values: Any) -> None:
        async with engine.begin() as conn:
            await conn.execute(
                update(Strategy)
                .where(Strategy.id == sid)
                .values(updated_at=datetime.now(UTC), **values)
            )

    await edit(condition="close > 0")
    assert [a.strategy_id for a in (await s.scan(T0 + (FIRST + 1) * MIN)).alerts] == [sid]
    await edit(active=False)
    assert (await s.scan(T0 + (FIRST + 2) * MIN)).alerts == ()
    await edit(active=True, name="back")  # and the close it was off for is caught up
    raised = (await s.scan(T0 + (FIRST + 3) * MIN)).alerts
    assert [(a.strategy_name, a.candle_close) for a in raised] == [
        ("back", T0 + (FIRST + 2) * MIN),
        ("back", T0 + (FIRST + 3) * MIN),
    ]


@pytest.mark.parametrize("workers", [1])
async def test_worker_processes_give_the_same_alerts(
    runtime: Runtime, market: Series, workers: int
) -> None:
    engine = runtime.engine
    user = await add_user(engine)
    sid = await add_strategy(engine, user, "cross", "crosses_above(close, sma(close, 5))")
    s = scanner(engine, workers=workers)
    await s.start()
    try:
        await step(s)
    finally:
        await s.close()
    rows = await alerts(engine)
    want = expected_rows("crosses_above(close, sma(close, 5))", market)
    assert starts_of(rows, sid) == starts_at(market, want)
    for r in rows:
        row = market.minutes.index((r.candle_start - T0) // MIN)
        assert r.values == finite(explain(parse(r.condition), market.candles, row))


async def test_instrument_spellings(runtime: Runtime, market: Series) -> None:
    engine = runtime.engine
    user = await add_user(engine)
    bare = await add_strategy(engine, user, "bare", "close > 0", instruments=["BTC-USDT"])
    lower = await add_strategy(engine, user, "lower", "close > 0", instruments=["BINANCE:btcusdt"])
    result = await scanner(engine).scan(T0 + LAST * MIN)
    assert sorted((a.strategy_id, a.exchange, a.symbol) for a in result.alerts) == [
        (bare, "binance", "BTCUSDT"), (lower, "binance", "BTCUSDT")
    ]  # fmt: skip
