"""The backtest use case: a condition (or a stored strategy) over the stored candles of
a window, decided exactly as the live scanner decides them (`scanner.find_alerts`, the
same windows, first rows and cooldown), with what happened next.

Bounded: the window's intervals times the instruments may not exceed
`MAX_BACKTEST_CANDLES`; a larger request is refused (422 on `end`) with the limit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tickhub.accounts.service import Principal
from tickhub.alerts import service as alerts
from tickhub.alerts.backtest import _run
from tickhub.alerts.backtest._uow import BacktestUnitOfWork
from tickhub.alerts.backtest.schemas import BacktestIn
from tickhub.alerts.scanner import history_between, window_from, window_length
from tickhub.alerts.schemas import MIN_COOLDOWN_S
from tickhub.common.time import from_us
from tickhub.marketdata import service as marketdata
from tickhub.sessions import service as sessions
from tickhub.sessions.uow import SessionsUowFactory

MAX_BACKTEST_CANDLES = 1_000_000
"""Intervals in the window times instruments: a year of 1m candles of one instrument is
525,600; about two of them fit."""

_US = 1_000_000


@dataclass(frozen=True, slots=True)
class InstrumentResult:
    exchange: str
    symbol: str
    base: str
    found: list[_run.Found]
    candles: int
    expected: int
    holes: list[tuple[int, int]]


@dataclass(frozen=True, slots=True)
class Backtest:
    strategy_id: int | None
    instruments: list[str]
    interval: str
    condition: str
    cooldown_s: int
    start: int
    end: int
    horizons: tuple[int, ...]
    results: list[InstrumentResult]
    summary: dict[str, _run.Stats]
    paper_session: int | None
    paper_transactions: int


async def run_backtest(
    uow: Callable[[], BacktestUnitOfWork],
    sessions_uow: SessionsUowFactory,
    principal: Principal,
    body: BacktestIn,
    *,
    history: int,
    now_us: int,
) -> Backtest:
    """Decide every candle of the window that closed by `now_us`; `history` is the
    scanner's (`TICKHUB_SCANNER_HISTORY`), which sets the windows."""
    start = _time(body.start, "start")
    end = _time(body.end, "end")
    if start >= end:
        raise alerts.Invalid("start must be before end", field="start")
    horizons = tuple(dict.fromkeys(body.horizons))
    async with uow() as tx:
        if body.strategy_id is not None:
            record = await tx.alerts.strategy(body.strategy_id, principal.id)
            if record is None:
                raise alerts.NotFound(alerts.NO_STRATEGY, field="strategy_id")
            wanted, interval_text = list(record.instruments), record.interval
            condition, cooldown_s = record.condition, record.cooldown_s
        else:
            assert body.instruments and body.interval and body.condition
            wanted, interval_text = body.instruments, body.interval
            condition = body.condition
            cooldown_s = MIN_COOLDOWN_S if body.cooldown_s is None else body.cooldown_s
        parsed_condition = alerts.parse_condition(condition)
        interval, interval_s = alerts.parse_interval(interval_text)
        step = interval_s * _US
        keys = await alerts.resolve_instruments(_Instruments(tx.market), wanted)
        first = -(-start // step) * step  # the first candle start on or after `start`
        last = min(end, now_us) // step * step  # the last close on or before `end`, closed
        intervals = max(0, (last - first) // step)
        if intervals * len(keys) > MAX_BACKTEST_CANDLES:
            raise alerts.Invalid(
                f"this backtest decides {intervals * len(keys):,} candles ({intervals:,} "
                f"intervals x {len(keys)} instruments), more than the limit of "
                f"{MAX_BACKTEST_CANDLES:,}: narrow start/end, use fewer instruments or a "
                "longer interval",
                field="end",
            )
        window = window_length(parsed_condition.lookback, history)
        spec = _run.Spec(condition, step, cooldown_s * _US, window, first, last, horizons)
        forward_to = min(now_us // step * step, last + max(horizons) * step)
        known = {f"{i.exchange}:{i.symbol}": i for i in await marketdata.instruments(tx.market)}
        results: list[InstrumentResult] = []
        for key in keys:
            inst = known[key]
            read_from = window_from(first, step, window)
            starts, series = await history_between(
                tx.market, inst, interval, read_from, max(forward_to, read_from)
            )
            ranges, _ = await marketdata.coverage(tx.market, inst)
            found = await asyncio.to_thread(_run.run, starts, series, spec)
            inside = int(((starts >= first) & (starts + step <= last)).sum())
            covered = [(r.first_ts, r.last_ts) for r in ranges]
            results.append(
                InstrumentResult(
                    inst.exchange, inst.symbol, inst.base, found, inside, intervals,
                    _run.holes(covered, first, last) if intervals else [],
                )
            )  # fmt: skip
    all_found = [f for r in results for f in r.found]
    paper_session, booked = None, 0
    if body.paper is not None:
        paper_session, booked = await _paper(sessions_uow, principal, body, results, first, last)
    return Backtest(
        strategy_id=body.strategy_id,
        instruments=keys,
        interval=interval,
        condition=condition,
        cooldown_s=cooldown_s,
        start=first,
        end=last,
        horizons=horizons,
        results=results,
        summary=_run.summary(all_found, horizons),
        paper_session=paper_session,
        paper_transactions=booked,
    )


async def _paper(
    uow: SessionsUowFactory,
    principal: Principal,
    body: BacktestIn,
    results: list[InstrumentResult],
    first: int,
    last: int,
) -> tuple[int, int]:
    """A new session with one transaction per alert, in the order of the candles."""
    paper = body.paper
    assert paper is not None
    trades = sorted(
        (f.candle_close, r.exchange, r.symbol, f.close, r.base) for r in results for f in r.found
    )
    crypto = sorted({r.base for r in results})
    booked = [
        sessions.PaperTrade(paper.side, paper.amount, close, from_us(at), base)
        for at, _, _, close, base in trades
    ]
    name = (
        paper.session_name
        or f"backtest {from_us(first).isoformat()} to {from_us(last).isoformat()}"
    )
    session_id = await sessions.book_paper_session(
        uow,
        principal,
        name=name,
        crypto_type=",".join(crypto)[:32] or "-",
        starting_balance=paper.starting_balance,
        starting_coins=paper.starting_coins,
        session_start=from_us(first),
        session_end=from_us(max(first, last)),
        trades=booked,
    )
    return session_id, len(booked)


def _time(value: str, field: str) -> int:
    try:
        return marketdata.parse_time(value, field)
    except marketdata.MarketDataError as exc:
        raise alerts.Invalid(exc.message, field=field) from None


class _Instruments:
    """The stored instruments, as `alerts.resolve_instruments` reads them."""

    def __init__(self, market: marketdata.MarketReads) -> None:
        self._market = market

    async def instruments(self) -> list[Any]:
        return list(await marketdata.instruments(self._market))
