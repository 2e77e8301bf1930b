"""`tickhub market-engine` as competing consumers over RabbitMQ and PostgreSQL: two
workers on their own buses share the clearing queue; the launch is announced by the API
and then delivered once more (as a redelivery would). The session is cleared exactly
once: one worker books, every other delivery books nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from tests.fixtures.market import (
    DAYS,
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
from tests.integration.bus.test_rabbit_bus import Rabbits, amqp_url  # noqa: F401 (fixture)
from tickhub.market import service
from tickhub.market.events import LAUNCHED_TOPIC, SessionLaunched
from tickhub.market.worker import ClearingWorker, announcer
from tickhub.runtime import Runtime

pytestmark = [pytest.mark.postgres, pytest.mark.rabbitmq]


@pytest.fixture
async def rabbits(amqp_url: str) -> AsyncIterator[Rabbits]:  # noqa: F811
    r = Rabbits(amqp_url)
    yield r
    await r.cleanup()


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_two_engines_clear_a_session_once(
    client: httpx.AsyncClient, runtime: Runtime, rabbits: Rabbits
) -> None:
    publisher = await rabbits.bus()
    workers = []
    for _ in range(2):
        bus = await rabbits.bus()
        worker = ClearingWorker(service.build_market(runtime.settings.market, runtime.engine))
        await worker.start(bus)
        workers.append(worker)
    app = client._transport.app  # type: ignore[attr-defined]
    app.state.market = service.build_market(
        runtime.settings.market, runtime.engine, announce=announcer(publisher)
    )
    boss = await root(runtime, client)
    buyer, seller = [await member(client, n) for n in (1, 2)]
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - STEP
    times, series = synthetic_series(end)
    await upload(client, buyer, times[: DAYS * 24], series["buyer"][: DAYS * 24])
    await upload(client, seller, times[: DAYS * 24], series["informative"][: DAYS * 24])
    session_id = await new_session(client, boss)
    await move(client, boss, session_id, "open")
    await paid_bid(client, boss, buyer, session_id)
    await move(client, boss, session_id, "closed", "running")
    await publisher.publish(LAUNCHED_TOPIC, SessionLaunched(session_id, 0))
    for bus in rabbits.buses:
        await bus.join()

    outcomes = [o for w in workers for o in w.outcomes]
    assert len(outcomes) == 2
    assert sorted(o.booked for o in outcomes) == [False, True]
    r = await client.get(
        "/api/market/session-transactions",
        params={"market_session": session_id},
        headers=boss.headers,
    )
    kinds = sorted(t["transaction_type"] for t in await ok(r))
    assert kinds == ["payment", "revenue", "transfer_in"]
