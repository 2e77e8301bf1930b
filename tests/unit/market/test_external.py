"""An external engine's writes on an in-memory unit of work: what claims a session, that
the built-in engine then books nothing for it, weights priced at the session's steps,
no money made up, and the fee settled when the session finishes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.fixtures.accounts import iota_address
from tests.fixtures.clocks import FakeClock
from tests.fixtures.fake_market import FakeMarketUow, fake_market
from tickhub.market import service
from tickhub.market.errors import Conflict, Invalid
from tickhub.market.service import Market


@pytest.fixture
def uow() -> FakeMarketUow:
    return FakeMarketUow()


@pytest.fixture
def market(uow: FakeMarketUow) -> Market:
    return fake_market(uow, clock=FakeClock())


async def _running_session(market: Market) -> int:
    await service.set_market_wallet(market, address=iota_address(900), create=True)
    created = await service.create_session(
        market,
        session_number=1,
        market_price=Decimal(50_000),
        b_min=Decimal(10_000),
        b_max=Decimal(100_000),
        n_price_steps=4,
        delta=0.05,
    )
    for status in ("open", "closed", "running"):
        await service.move_session(market, created.id, status)
    return created.id


async def test_weights_claim_the_session_and_the_built_in_engine_skips_it(
    market: Market, uow: FakeMarketUow
) -> None:
    session_id = await _running_session(market)
    with pytest.raises(Invalid, match="no more than 4 elements"):
        await service.post_weights(market, session_id, [0.1] * 5)
    assert await uow.data.clearing(session_id) is None  # a refused write claims nothing
    await service.post_weights(market, session_id, [0.1, 0.2])
    await service.post_weights(market, session_id, [0.3])
    found = await service.weights(market, session_id)
    assert [(w.step, w.price, w.weights_p) for w in found] == [
        (0, Decimal(10_000), 0.1),
        (1, Decimal(40_000), 0.2),
        (2, Decimal(70_000), 0.3),
    ]
    claimed = await uow.data.clearing(session_id)
    assert claimed is not None and claimed.status == "external"
    outcome = await service.clear_session(market, session_id)
    assert (outcome.booked, outcome.reason) == (False, "booked by an external engine")


async def test_a_fee_needs_payments_and_finishing_settles_the_rest(
    market: Market, uow: FakeMarketUow
) -> None:
    session_id = await _running_session(market)
    with pytest.raises(Conflict, match="would exceed its payments 0"):
        await service.post_fee(market, session_id, Decimal(1))
    with pytest.raises(Invalid, match="does not exist yet"):
        await service.post_fee(market, session_id + 1, Decimal(1))
    await service.post_weights(market, session_id, [])  # claims, books nothing
    await service.move_session(market, session_id, "finished")
    assert await service.fees(market, session_id) == []  # nothing paid, nothing settled


async def test_a_session_the_built_in_engine_started_refuses_external_writes(
    market: Market, uow: FakeMarketUow
) -> None:
    session_id = await _running_session(market)
    async with uow as tx:
        await tx.data.start_clearing(session_id, FakeClock()())
        await tx.commit()
    with pytest.raises(Conflict, match=f"Market session {session_id} is booked by the market"):
        await service.post_weights(market, session_id, [0.5])
    assert await service.weights(market, session_id) == []
