"""Market clearing through the service on SQLite: the session of `bench/market.py` (its
synthetic data and bids) stored in a fresh SQLite database, cleared by
`tickhub.market.service.clear_session` (load from the database, the engine, book in one
transaction), beside `tickhub.market.engine.clear` alone on the same inputs in the same
run: the ratio is what the database costs around the computation.

    .venv/bin/python bench/market_service.py [--users 100] [--bids 50]

Only the history a clearing reads is stored (the engine's 56-day window, a week of lags
and a margin: 70 days of 15-minute values per resource).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).parent))

from market import LAUNCH, bids_for, synthetic_market
from tickhub.accounts.models import User
from tickhub.db import create_engine
from tickhub.market import engine as market_engine
from tickhub.market import service
from tickhub.market.models import Bid, MarketSession, Resource
from tickhub.migrate import upgrade
from tickhub.settings import MarketSettings

DAYS = 70


async def run(users: int, bid_count: int) -> None:
    data = synthetic_market(users, DAYS)
    bids = bids_for(data, bid_count)
    settings = MarketSettings(_env_file=None, auto_stage=False)
    launch = datetime.fromtimestamp(LAUNCH, UTC)
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{tmp}/market.db")
        await upgrade(engine)
        market = service.build_market(settings, engine, clock=lambda: launch)
        user_ids = {m.user_id: str(uuid.uuid4()) for m in data.values()}
        resource_ids = {r: str(uuid.uuid4()) for r in data}
        started = time.perf_counter()
        async with engine.begin() as conn:
            await conn.execute(
                insert(User),
                [
                    {
                        "id": uid,
                        "email": f"u{n}@example.com",
                        "password_hash": "-",
                        "first_name": "U",
                        "last_name": str(n),
                        "is_verified": True,
                        "is_admin": False,
                        "created_at": launch,
                        "password_changed_at": launch,
                    }
                    for n, uid in user_ids.items()
                ],
            )
            await conn.execute(
                insert(Resource),
                [
                    {
                        "id": resource_ids[r],
                        "user_id": user_ids[m.user_id],
                        "name": f"r{r}",
                        "type": "measurements",
                        "to_forecast": True,
                        "registered_at": launch,
                    }
                    for r, m in data.items()
                ],
            )
            inserted = (
                await conn.execute(
                    insert(MarketSession).values(
                        session_number=1,
                        session_date=launch.date(),
                        staged_ts=launch,
                        launch_ts=launch,
                        status="running",
                        market_price=Decimal(60),
                        b_min=Decimal(20),
                        b_max=Decimal(200),
                        n_price_steps=10,
                        delta=0.1,
                    )
                )
            ).inserted_primary_key
            assert inserted is not None
            session_id = inserted[0]
        for r, m in data.items():
            rows = [
                {
                    "user_id": user_ids[m.user_id],
                    "resource_id": resource_ids[r],
                    "datetime": datetime.fromtimestamp(int(t), UTC),
                    "resource_type": "measurements",
                    "value": float(v),
                    "units": "kw",
                    "time_interval": m.interval_min,
                    "aggregation_type": "avg",
                    "registered_at": launch,
                }
                for t, v in zip(m.times.tolist(), m.values.tolist(), strict=True)
            ]
            async with market.uow() as tx:
                await tx.data.upsert_raw(rows)
                await tx.commit()
        async with engine.begin() as conn:
            await conn.execute(
                insert(Bid),
                [
                    {
                        "id": f"{b.bid_id:08d}-0000-4000-8000-000000000000",
                        "session_id": session_id,
                        "user_id": user_ids[b.user_id],
                        "resource_id": resource_ids[b.resource_id],
                        "max_payment": b.max_payment,
                        "bid_price": b.bid_price,
                        "gain_func": b.gain_func,
                        "confirmed": True,
                        "has_forecasts": False,
                        "registered_at": launch,
                    }
                    for b in bids
                ],
            )
        async with market.uow() as tx:
            for b in bids:
                await service.book(
                    tx,
                    user_id=user_ids[b.user_id],
                    amount=b.max_payment,
                    kind="transfer_in",
                    now=launch,
                    session_id=session_id,
                    resource_id=resource_ids[b.resource_id],
                )
            await tx.commit()
        stored = time.perf_counter() - started
        points = sum(m.times.size for m in data.values())
        print(
            f"{users} resources x {DAYS * 96:,} points ({points:,} rows), {len(bids)} bids; "
            f"stored in {stored:.1f} s"
        )

        started = time.perf_counter()
        outcome = await service.clear_session(market, session_id)
        through_service = time.perf_counter() - started
        assert outcome.booked and outcome.payments == outcome.revenues + outcome.fee

        grid = market_engine.PriceGrid(Decimal(60), Decimal(20), Decimal(200), 10, 0.1)
        params = market_engine.ClearingParams(
            launch_time=LAUNCH, horizon_h=settings.horizon_h, fee=settings.fee, seed=session_id
        )
        runs = []
        for _ in range(3):
            started = time.perf_counter()
            market_engine.clear(bids, data, grid, params)
            runs.append(time.perf_counter() - started)
        alone = statistics.median(runs)
        print(
            f"clear through the service (load, engine, book; SQLite): {through_service:.2f} s; "
            f"the engine alone on the same inputs: {alone:.2f} s (median of 3); "
            f"ratio {through_service / alone:.2f}x"
        )
        print(f"  payments {outcome.payments} = revenues {outcome.revenues} + fee {outcome.fee}")
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--bids", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(run(args.users, args.bids))


if __name__ == "__main__":
    main()
