"""The clearing of a session by the market engine (`tickhub.market.engine`).

When a session is `running` (its launch time stamped), `clear_session` loads its
confirmed bids and every measurements resource's history before the launch, calls the
engine (in a worker thread: it is pure computation), and books the result in ONE unit of
work: each buyer's `payment`, each seller resource's `revenue` (summed over the bids it
helped), the session's fee, the forecasts, the price weights, the notifications, the
session `finished`, and (unless `TICKHUB_MARKET_AUTO_STAGE=false`) the next session staged
at the engine's next market price. A clearing record marks the session booked.

Idempotent by session and bid: a failure half-way leaves nothing booked (the unit of work
rolls back) and a rerun does it all; a rerun after success, or of a session an admin
finished by hand, books nothing (the record, the session's status, and the unique
(session, user, resource, type) of transactions all say so). Nor does it book a session an
external engine claimed (`_external`), or anything with `TICKHUB_MARKET_ENGINE=external`."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np

from tickhub.market import engine
from tickhub.market.repository import BidRecord, MeasurementRow, SessionRecord
from tickhub.market.service._context import Market
from tickhub.market.service._money import book
from tickhub.market.service._notify import notify
from tickhub.market.service._sessions import stage_next
from tickhub.market.uow import MarketUow

log = logging.getLogger("tickhub.market.clearing")

# History loaded before the launch: the engine's window (train_days) plus its longest lag
# (a week) and a margin.
HISTORY = timedelta(days=56 + 7 + 7)


@dataclass(frozen=True, slots=True)
class Outcome:
    session_id: int
    booked: bool  # False: nothing to do (booked already, or finished by hand)
    payments: Decimal = Decimal(0)
    revenues: Decimal = Decimal(0)
    fee: Decimal = Decimal(0)
    next_session_id: int | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class _Inputs:
    session: SessionRecord
    bids: list[BidRecord]
    raw: list[MeasurementRow]
    weights: tuple[float, ...] | None


class _Ids:
    """The engine counts in ints; the market's ids are text."""

    def __init__(self) -> None:
        self.to_int: dict[str, int] = {}
        self.to_str: list[str] = []

    def __call__(self, key: str) -> int:
        if key not in self.to_int:
            self.to_int[key] = len(self.to_str)
            self.to_str.append(key)
        return self.to_int[key]

    def back(self, value: int) -> str:
        return self.to_str[value]


async def clear_session(m: Market, session_id: int) -> Outcome:
    inputs = await _load(m, session_id)
    if isinstance(inputs, Outcome):
        return inputs
    session = inputs.session
    assert session.launch_ts is not None
    users, resources, bid_ids = _Ids(), _Ids(), _Ids()
    units: dict[str, str] = {}
    by_resource: dict[str, list[MeasurementRow]] = defaultdict(list)
    for r in inputs.raw:
        by_resource[r.resource_id].append(r)
        units[r.resource_id] = r.units
    data = {}
    for resource_id, rows in sorted(by_resource.items()):
        rid = resources(resource_id)
        data[rid] = engine.Measurements(
            resource_id=rid,
            user_id=users(rows[0].user_id),
            interval_min=rows[-1].time_interval,
            times=np.fromiter((r.epoch for r in rows), dtype=np.int64, count=len(rows)),
            values=np.fromiter((r.value for r in rows), dtype=np.float64, count=len(rows)),
        )
    bids = [
        engine.Bid(
            bid_id=bid_ids(b.id),
            user_id=users(b.user_id),
            resource_id=resources(b.resource_id),
            bid_price=b.bid_price,
            max_payment=b.max_payment,
            gain_func=b.gain_func,
        )
        for b in sorted(inputs.bids, key=lambda b: b.id)
        if b.resource_id in by_resource
    ]
    grid = engine.PriceGrid(
        market_price=session.market_price,
        b_min=session.b_min,
        b_max=session.b_max,
        n_price_steps=session.n_price_steps,
        delta=session.delta,
        weights=inputs.weights,
    )
    params = engine.ClearingParams(
        launch_time=int(session.launch_ts.timestamp()),
        horizon_h=m.settings.horizon_h,
        fee=m.settings.fee,
        seed=session_id,
    )
    result = await asyncio.to_thread(engine.clear, bids, data, grid, params)
    return await _book(m, session, result, users, resources, bid_ids, units)


async def _load(m: Market, session_id: int) -> _Inputs | Outcome:
    now = m.clock()
    async with m.uow() as tx:
        session = await tx.sessions.session(session_id)
        if session is None:
            return Outcome(session_id, booked=False, reason="no such session")
        record = await tx.data.clearing(session_id)
        if record is not None and record.status == "booked":
            return Outcome(session_id, booked=False, reason="booked already")
        if record is not None and record.status == "external":
            return Outcome(session_id, booked=False, reason="booked by an external engine")
        if m.settings.engine == "external":
            return Outcome(session_id, booked=False, reason="the built-in engine is off")
        if session.status != "running" or session.launch_ts is None:
            return Outcome(session_id, booked=False, reason=f"the session is {session.status}")
        await tx.data.start_clearing(session_id, now)
        bids = await tx.sessions.bids(None, session_id=session_id, confirmed=True)
        raw = await tx.data.measurements(session.launch_ts - HISTORY, session.launch_ts)
        weights = await _previous_weights(tx, session)
        await tx.commit()
    return _Inputs(session, bids, raw, weights)


async def _previous_weights(tx: MarketUow, session: SessionRecord) -> tuple[float, ...] | None:
    earlier = [s for s in await tx.sessions.sessions() if s.id < session.id]
    if not earlier:
        return None
    found = await tx.money.weights(earlier[-1].id)
    if len(found) != session.n_price_steps:
        return None
    return tuple(w.weights_p for w in found)


async def _book(
    m: Market,
    session: SessionRecord,
    result: engine.Clearing,
    users: _Ids,
    resources: _Ids,
    bid_ids: _Ids,
    units: dict[str, str],
) -> Outcome:
    now = m.clock()
    assert session.launch_ts is not None
    payments = revenues = fee = Decimal(0)
    async with m.uow() as tx:
        current = await tx.sessions.session(session.id, lock=True)
        record = await tx.data.clearing(session.id)
        if (
            current is None
            or current.status != "running"
            or (record and record.status != "running")
        ):
            # An admin finished it meanwhile, another worker booked it first, or an
            # external engine claimed it.
            return Outcome(session.id, booked=False, reason="finished meanwhile")
        for buyer in result.buyers:
            fee += buyer.fee
            if buyer.payment <= 0:
                continue
            payments += buyer.payment
            await book(
                tx,
                user_id=users.back(buyer.user_id),
                amount=-buyer.payment,
                kind="payment",
                now=now,
                session_id=session.id,
                resource_id=resources.back(buyer.resource_id),
            )
        earned: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        for revenue in result.revenues:
            earned[(users.back(revenue.user_id), resources.back(revenue.resource_id))] += (
                revenue.amount
            )
        for (user_id, resource_id), amount in sorted(earned.items()):
            revenues += amount
            await book(
                tx,
                user_id=user_id,
                amount=amount,
                kind="revenue",
                now=now,
                session_id=session.id,
                resource_id=resource_id,
            )
        await tx.money.add_fee(session.id, fee, now)
        await _store_forecasts(tx, session, result, users, resources, bid_ids, units, now)
        await tx.money.add_weights(session.id, list(result.price_weights))
        await _notify(tx, session, result, users, earned, now)
        moved = await tx.sessions.guard_transition(session.id, "running", "finished", finish_ts=now)
        assert moved
        finished = await tx.sessions.session(session.id)
        assert finished is not None
        next_id = None
        if m.settings.auto_stage:
            next_id = await stage_next(tx, finished, result.next_market_price, now)
        await tx.data.book_clearing(session.id, now, next_id)
        await tx.commit()
    log.info(
        "cleared market session %s: payments %s, revenues %s, fee %s",
        session.id,
        payments,
        revenues,
        fee,
    )
    return Outcome(session.id, True, payments, revenues, fee, next_id)


async def _store_forecasts(
    tx: MarketUow,
    session: SessionRecord,
    result: engine.Clearing,
    users: _Ids,
    resources: _Ids,
    bid_ids: _Ids,
    units: dict[str, str],
    now: datetime,
) -> None:
    assert session.launch_ts is not None
    rows = []
    for f in result.forecasts:
        resource_id = resources.back(f.resource_id)
        for t, value in zip(f.times.tolist(), f.values.tolist(), strict=True):
            rows.append(
                {
                    "user_id": users.back(f.user_id),
                    "resource_id": resource_id,
                    "session_id": session.id,
                    "datetime": datetime.fromtimestamp(int(t), UTC),
                    "request": session.launch_ts,
                    "value": float(value),
                    "units": units.get(resource_id, "kw"),
                    "registered_at": now,
                }
            )
        await tx.sessions.mark_forecasts(bid_ids.back(f.bid_id))
    await tx.data.upsert_forecasts(rows)


async def _notify(
    tx: MarketUow,
    session: SessionRecord,
    result: engine.Clearing,
    users: _Ids,
    earned: dict[tuple[str, str], Decimal],
    now: datetime,
) -> None:
    buyers = [users.back(f.user_id) for f in result.forecasts]
    await notify(
        tx,
        buyers,
        kind="forecasts_ready",
        title="Forecasts ready",
        description=f"The forecasts of market session {session.id} are ready.",
        key=f"forecasts:{session.id}",
        now=now,
    )
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for (user_id, _), amount in earned.items():
        totals[user_id] += amount
    for user_id, amount in sorted(totals.items()):
        await notify(
            tx,
            [user_id],
            kind="revenue_booked",
            title="Revenue booked",
            description=(f"Your data earned {format(amount, 'f')} in market session {session.id}."),
            key=f"revenue:{session.id}",
            now=now,
        )
