"""The market engine end to end through the seed's API, on synthetic data: a buyer whose
series is a seller's series of a day earlier plus a little noise, that informative
seller, and a seller of pure noise. The admin closes and launches the session; the
in-process worker clears it over the bus. The forecast beats the buyer's own persistence
forecast, the informative seller earns more than the noise seller, money is conserved to
the last unit, and a rerun (the same launch again, or the service called again) books
nothing new. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import numpy as np
import pytest

from tests.fixtures.accounts import User, seed_error
from tests.fixtures.market import (
    DAYS,
    FORECASTS,
    SESSION,
    STEP,
    member,
    move,
    new_session,
    ok,
    paid_bid,
    root,
    synthetic_series,
    upload,
)
from tickhub.market import service
from tickhub.market.events import SessionLaunched
from tickhub.market.worker import ClearingWorker
from tickhub.runtime import Runtime


@pytest.fixture
async def worker(runtime: Runtime) -> AsyncIterator[ClearingWorker]:
    market = service.build_market(runtime.settings.market, runtime.engine)
    clearing = ClearingWorker(market)
    await clearing.start(runtime.bus)
    yield clearing
    await clearing.stop()


async def _transactions(client: httpx.AsyncClient, boss: User, session_id: int) -> list[Any]:
    r = await client.get(
        "/api/market/session-transactions",
        params={"market_session": session_id},
        headers=boss.headers,
    )
    return list(await ok(r))


async def test_a_session_is_cleared_once_and_pays_the_informative_seller(
    client: httpx.AsyncClient, runtime: Runtime, worker: ClearingWorker
) -> None:
    boss = await root(runtime, client)
    buyer, informative, noise = [await member(client, n) for n in (1, 2, 3)]
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - STEP
    times, series = synthetic_series(end)
    known = DAYS * 24
    for who, name in ((buyer, "buyer"), (informative, "informative"), (noise, "noise")):
        await upload(client, who, times[:known], series[name][:known])

    session_id = await new_session(client, boss)
    await move(client, boss, session_id, "open")
    await paid_bid(client, boss, buyer, session_id, max_payment=2_000_000, bid_price=100_000)
    await move(client, boss, session_id, "closed", "running")
    await runtime.bus.join()
    (outcome,) = worker.outcomes
    assert outcome.booked

    # The session is finished, the next one staged at the engine's price.
    (done,) = await ok(
        await client.get(SESSION, params={"market_session": session_id}, headers=boss.headers)
    )
    assert done["status"] == "finished" and done["finish_ts"].endswith("Z")
    (staged,) = await ok(
        await client.get(SESSION, params={"latest_only": "true"}, headers=boss.headers)
    )
    assert staged["status"] == "staged" and staged["id"] == outcome.next_session_id
    r = await client.patch(
        f"{SESSION}/{session_id}", json={"status": "finished"}, headers=boss.headers
    )
    assert r.status_code == 409 and "it is 'finished'" in r.json()["message"]

    # Forecasts for the next 24 hours, better than the buyer's own persistence.
    forecasts = await ok(
        await client.get(FORECASTS, params={"market_session": session_id}, headers=buyer.headers)
    )
    assert len(forecasts) == 24
    assert await ok(await client.get(FORECASTS, headers=informative.headers)) == []
    by_time = {f["datetime"]: f["value"] for f in forecasts}
    future = [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in times[known:]]
    launch = datetime.strptime(done["launch_ts"][:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    assert min(by_time) > launch.strftime("%Y-%m-%dT%H:%M:%SZ")
    shared = [i for i, t in enumerate(future) if t in by_time]
    assert len(shared) >= 20
    truth = series["buyer"][known:][shared]
    predicted = np.array([by_time[future[i]] for i in shared])
    persistence = series["buyer"][known - 24 : known][shared]
    assert np.abs(predicted - truth).mean() < 0.5 * np.abs(persistence - truth).mean()

    # Money: the buyer paid, the informative seller earned more than the noise seller,
    # payments = revenues + fee exactly.
    booked = await _transactions(client, boss, session_id)
    paid = {t["user"]: -t["amount"] for t in booked if t["transaction_type"] == "payment"}
    earned = {t["user"]: t["amount"] for t in booked if t["transaction_type"] == "revenue"}
    assert set(paid) == {buyer.id} and paid[buyer.id] > 0
    assert earned.get(informative.id, 0) > earned.get(noise.id, 0)
    (fee,) = await ok(
        await client.get(
            "/api/market/session-fee", params={"market_session": session_id}, headers=boss.headers
        )
    )
    assert sum(paid.values()) == sum(earned.values()) + fee["amount"]
    (balance,) = await ok(await client.get("/api/market/balance", headers=buyer.headers))
    assert balance["balance"] == 2_000_000 - paid[buyer.id]
    weights = await ok(
        await client.get(
            "/api/market/price-weight", params={"market_session": session_id}, headers=boss.headers
        )
    )
    assert len(weights) == 20 and abs(sum(w["weights_p"] for w in weights) - 1) < 1e-9
    assert staged["market_price"] in {w["price"] for w in weights}
    notes = await ok(await client.get("/api/user/notification", headers=informative.headers))
    assert [n["notification_title"] for n in notes["revenue_booked"]] == ["Revenue booked"]
    notes = await ok(await client.get("/api/user/notification", headers=buyer.headers))
    assert len(notes["forecasts_ready"]) == 1

    # A rerun books nothing new: the launch delivered again, and the service called again.
    await runtime.bus.publish("market.session.launched", SessionLaunched(session_id, 0))
    await runtime.bus.join()
    again = await service.clear_session(worker.market, session_id)
    assert not again.booked and not worker.outcomes[-1].booked
    assert await _transactions(client, boss, session_id) == booked
    sessions = await ok(await client.get(SESSION, headers=boss.headers))
    assert len(sessions) == 2


async def test_an_admin_may_finish_a_running_session_by_hand(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    """Without a worker: the admin finishes it; a late clearing books nothing."""
    boss = await root(runtime, client)
    buyer = await member(client, 1)
    session_id = await new_session(client, boss)
    await move(client, boss, session_id, "open")
    await paid_bid(client, boss, buyer, session_id)
    await move(client, boss, session_id, "closed", "running", "finished")
    market = service.build_market(runtime.settings.market, runtime.engine)
    late = await service.clear_session(market, session_id)
    assert (late.booked, late.reason) == (False, "the session is finished")
    kinds = [t["transaction_type"] for t in await _transactions(client, boss, session_id)]
    assert kinds == ["transfer_in"]
    r = await client.post(
        SESSION,
        json={
            "session_number": 2,
            "market_price": 1,
            "b_min": 1,
            "b_max": 2,
            "n_price_steps": 2,
            "delta": 0.1,
        },
        headers=boss.headers,
    )
    assert r.status_code == 200
    r = await client.patch(f"{SESSION}/{session_id}", json={"status": "open"}, headers=boss.headers)
    assert r.json() == seed_error(
        409,
        f"Unable to update session {session_id}: it is 'finished' and it accepts no further "
        "change (asked: 'open').",
    )
