"""`POST /v1/strategies/backtest` (thin HTTP layer)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from tickhub.accounts.deps import CurrentUser
from tickhub.alerts.backtest import _service as service
from tickhub.alerts.backtest._uow import BacktestUnitOfWork
from tickhub.alerts.backtest.schemas import (
    BacktestAlertOut,
    BacktestIn,
    BacktestOut,
    CoverageOut,
    HoleOut,
    HorizonOut,
    PaperOut,
    SummaryOut,
)
from tickhub.alerts.schemas import InstrumentOut
from tickhub.common.time import from_us, utc_now
from tickhub.deps import EngineDep
from tickhub.sessions.deps import SessionsUowDep

router = APIRouter(tags=["strategies and alerts"])


@router.post("/strategies/backtest", summary="Backtest a condition or a strategy on history")
async def backtest(
    body: BacktestIn,
    request: Request,
    principal: CurrentUser,
    engine: EngineDep,
    sessions_uow: SessionsUowDep,
) -> BacktestOut:
    """Every candle of the window decided exactly as the live scanner decides it (the
    same candles, windows, first rows and cooldown), each alert with its forward returns
    per horizon, a summary, and the holes in the instruments' coverage. With `paper`,
    each alert is also booked as a transaction of a new paper-trading session.

    Bounded: at most 1,000,000 candles (intervals in the window times instruments);
    more is a 422 on `end` that gives the limit."""
    result = await service.run_backtest(
        BacktestUnitOfWork.factory(engine),
        sessions_uow,
        principal,
        body,
        history=request.app.state.settings.scanner.history,
        now_us=int(utc_now().timestamp() * 1_000_000),
    )
    alerts = [
        BacktestAlertOut(
            instrument=InstrumentOut(exchange=r.exchange, symbol=r.symbol),
            interval=result.interval,
            candle_start=from_us(f.candle_start),
            candle_close=from_us(f.candle_close),
            condition=result.condition,
            values=f.values,
            close=f.close,
            forward_returns=f.forward_returns,
        )
        for r in result.results
        for f in r.found
    ]
    alerts.sort(key=lambda a: (a.candle_close, a.instrument.exchange, a.instrument.symbol))
    return BacktestOut(
        strategy_id=result.strategy_id,
        instruments=result.instruments,
        interval=result.interval,
        condition=result.condition,
        cooldown_s=result.cooldown_s,
        start=from_us(result.start),
        end=from_us(result.end),
        horizons=list(result.horizons),
        alerts=alerts,
        summary=SummaryOut(
            count=len(alerts),
            horizons={
                h: HorizonOut(
                    count=s.count, mean=s.mean, median=s.median, positive_share=s.positive_share
                )
                for h, s in result.summary.items()
            },
        ),
        coverage=[
            CoverageOut(
                instrument=InstrumentOut(exchange=r.exchange, symbol=r.symbol),
                candles=r.candles,
                expected_candles=r.expected,
                complete=not r.holes,
                holes=[HoleOut(start=from_us(a), end=from_us(b)) for a, b in r.holes],
            )
            for r in result.results
        ],
        paper=None
        if result.paper_session is None
        else PaperOut(session_id=result.paper_session, transactions=result.paper_transactions),
    )
