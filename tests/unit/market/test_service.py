"""The market use cases on an in-memory unit of work: wallets and resources (moved from
accounts), the session lifecycle, the seven checks of a bid, payment validation and the
money rules (signs, no negative balance, one transaction of a kind per session)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest

from tests.fixtures.accounts import iota_address
from tests.fixtures.clocks import FakeClock
from tests.fixtures.fake_market import FakeMarketUow, fake_market
from tickhub.market import service
from tickhub.market.errors import Conflict, Invalid, NotFound
from tickhub.market.service import Market


@dataclass(frozen=True)
class Who:
    id: str
    is_admin: bool = False

    def scope(self, wanted: str | None = None) -> str | None:
        return wanted if self.is_admin else self.id


ADA, BOB, ROOT = Who("ada"), Who("bob"), Who("root", is_admin=True)
MIN = Decimal(1_000_000)


@pytest.fixture
def uow() -> FakeMarketUow:
    return FakeMarketUow()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def market(uow: FakeMarketUow, clock: FakeClock) -> Market:
    return fake_market(uow, clock=clock)


async def _session(market: Market, number: int = 1) -> int:
    created = await service.create_session(
        market,
        session_number=number,
        market_price=Decimal("56842.1"),
        b_min=Decimal(10_000),
        b_max=Decimal(100_000),
        n_price_steps=20,
        delta=0.05,
    )
    return created.id


async def test_one_wallet_per_user_and_address(market: Market, uow: FakeMarketUow) -> None:
    mine, other = iota_address(1), iota_address(2)
    with pytest.raises(NotFound):
        await service.replace_wallet(market, ADA, address=mine)
    wallet = await service.add_wallet(market, ADA, address=mine)
    assert wallet.user_id == ADA.id
    commits = uow.commits
    with pytest.raises(Conflict):
        await service.add_wallet(market, ADA, address=other)
    with pytest.raises(Invalid) as caught:
        await service.add_wallet(market, BOB, address=mine)
    assert caught.value.field == "wallet_address"
    assert uow.commits == commits
    moved = await service.replace_wallet(market, ADA, address=other)
    assert moved.wallet_address == other
    assert [w.wallet_address for w in await service.wallets(market, ADA)] == [other]
    assert await service.wallets(market, BOB) == []


async def test_the_market_wallet_is_created_once_then_replaced(
    market: Market, uow: FakeMarketUow
) -> None:
    with pytest.raises(NotFound):
        await service.set_market_wallet(market, address=iota_address(1), create=False)
    await service.set_market_wallet(market, address=iota_address(1), create=True)
    with pytest.raises(Conflict, match="already registered"):
        await service.set_market_wallet(market, address=iota_address(2), create=True)
    await service.set_market_wallet(market, address=iota_address(3), create=False)
    assert (await service.market_wallet(market)).wallet_address == iota_address(3)
    assert uow.commits == 2


async def test_resources_of_others_are_not_found_and_names_stay_unique(
    market: Market, uow: FakeMarketUow
) -> None:
    farm = await service.add_resource(
        market, ADA, name="farm", type="measurements", to_forecast=True
    )
    await service.add_resource(market, ADA, name="farm", type="forecasts", to_forecast=False)
    commits = uow.commits
    with pytest.raises(NotFound):
        await service.delete_resource(market, BOB, farm.id)
    with pytest.raises(Invalid, match="unique set"):
        await service.update_resource(market, ADA, farm.id, type="forecasts", to_forecast=False)
    assert uow.commits == commits
    await service.update_resource(market, ADA, farm.id, name="windfarm")
    assert (await service.resource(market, ADA, farm.id)).name == "windfarm"
    await service.delete_resource(market, ADA, farm.id)
    assert uow.commits == commits + 2
    assert [r.type for r in await service.resources(market, ADA, service.ResourceFilter())] == [
        "forecasts"
    ]


async def test_a_session_needs_a_wallet_and_finished_predecessors(
    market: Market, uow: FakeMarketUow
) -> None:
    with pytest.raises(Conflict, match="Market wallet address not found"):
        await _session(market)
    await service.set_market_wallet(market, address=iota_address(9), create=True)
    first = await _session(market)
    with pytest.raises(Conflict, match="There are still unfinished sessions"):
        await _session(market, 2)
    for status in ("open", "closed", "running", "finished"):
        moved = await service.move_session(market, first, status)
        assert moved.status == status
    done = (await service.sessions(market, service.SessionFilter(session_id=first)))[0]
    assert None not in (done.open_ts, done.close_ts, done.launch_ts, done.finish_ts)
    assert await _session(market, 2) == first + 1


async def test_the_lifecycle_goes_one_step_at_a_time(market: Market, uow: FakeMarketUow) -> None:
    await service.set_market_wallet(market, address=iota_address(9), create=True)
    session_id = await _session(market)
    commits = uow.commits
    for wrong in ("staged", "closed", "running", "finished"):
        with pytest.raises(Conflict, match="it is 'staged' and the next status is 'open'"):
            await service.move_session(market, session_id, wrong)
    assert uow.commits == commits
    with pytest.raises(NotFound):
        await service.move_session(market, session_id + 1, "open")


async def test_launching_announces_the_session_after_the_commit(
    uow: FakeMarketUow, clock: FakeClock
) -> None:
    announced: list[tuple[int, int]] = []

    async def announce(session_id: int, _now: object) -> None:
        announced.append((session_id, uow.commits))

    market = fake_market(uow, clock=clock)
    market = service.Market(market.uow, market.settings, market.verifier, clock, announce)
    await service.set_market_wallet(market, address=iota_address(9), create=True)
    session_id = await _session(market)
    for status in ("open", "closed"):
        await service.move_session(market, session_id, status)
    assert announced == []
    await service.move_session(market, session_id, "running")
    assert announced == [(session_id, uow.commits)]


async def _ready(market: Market) -> tuple[int, str]:
    """An open session, and ADA with a wallet and a resource to forecast."""
    await service.set_market_wallet(market, address=iota_address(9), create=True)
    await service.add_wallet(market, ADA, address=iota_address(1))
    farm = await service.add_resource(
        market, ADA, name="farm", type="measurements", to_forecast=True
    )
    session_id = await _session(market)
    await service.move_session(market, session_id, "open")
    return session_id, farm.id


async def test_the_seven_checks_of_a_bid(market: Market, uow: FakeMarketUow) -> None:
    await service.set_market_wallet(market, address=iota_address(9), create=True)
    session_id = await _session(market)

    async def bid(who: Who, resource: str, session: int = session_id) -> service.PlacedBid:
        return await service.place_bid(
            market,
            who,
            session_id=session,
            resource_id=resource,
            max_payment=MIN,
            bid_price=Decimal(5),
        )

    with pytest.raises(Conflict, match="No wallet address found for user 'ada'"):
        await bid(ADA, "r")
    await service.add_wallet(market, ADA, address=iota_address(1))
    with pytest.raises(Conflict, match="Resource ID r is not registered to user 'ada'"):
        await bid(ADA, "r")
    notes = await service.add_resource(market, ADA, name="n", type="forecasts", to_forecast=False)
    with pytest.raises(Conflict, match="only possible to place bids for measurements"):
        await bid(ADA, notes.id)
    quiet = await service.add_resource(
        market, ADA, name="q", type="measurements", to_forecast=False
    )
    with pytest.raises(Conflict, match="'to_forecast' field equal to True"):
        await bid(ADA, quiet.id)
    farm = await service.add_resource(
        market, ADA, name="farm", type="measurements", to_forecast=True
    )
    with pytest.raises(Conflict, match=f"Market session {session_id + 5} does not exist"):
        await bid(ADA, farm.id, session_id + 5)
    with pytest.raises(Conflict, match=f"Market session {session_id} is not open for bids"):
        await bid(ADA, farm.id)
    await service.move_session(market, session_id, "open")
    placed = await bid(ADA, farm.id)
    assert placed.market_wallet_address == iota_address(9)
    assert (placed.bid.gain_func, placed.bid.confirmed) == ("rmse", False)
    with pytest.raises(Conflict, match="already has a placed bid"):
        await bid(ADA, farm.id)
    with pytest.raises(Invalid, match="greater than or equal to 1000000"):
        await service.place_bid(
            market,
            ADA,
            session_id=session_id,
            resource_id=farm.id,
            max_payment=MIN - 1,
            bid_price=Decimal(1),
        )


async def test_a_payment_reference_is_attached_once_and_validated_once(
    market: Market, uow: FakeMarketUow
) -> None:
    session_id, farm = await _ready(market)
    placed = await service.place_bid(
        market, ADA, session_id=session_id, resource_id=farm, max_payment=MIN, bid_price=Decimal(5)
    )
    bid_id = placed.bid.id
    await service.add_wallet(market, BOB, address=iota_address(2))
    with pytest.raises(Conflict, match=f"Bid ID {bid_id} is not registered to user 'bob'"):
        await service.attach_payment(market, BOB, bid_id, "tx-1")
    with pytest.raises(Conflict, match="No bid payments were found for tangle_msg_id tx-1"):
        await service.validate_payment(market, "tx-1")
    await service.attach_payment(market, ADA, bid_id, "tx-1")
    with pytest.raises(Conflict, match="A Tangle Message ID already exists for bid ID"):
        await service.attach_payment(market, ADA, bid_id, "tx-2")
    done = await service.validate_payment(market, "tx-1")
    assert done.bid.confirmed
    with pytest.raises(Conflict, match="Tangle message ID tx-1 already validated"):
        await service.validate_payment(market, "tx-1")
    (balance,) = await service.balances(market, ADA)
    assert (balance.balance, balance.total_deposit) == (MIN, MIN)
    (t,) = await service.transactions(market, ADA)
    assert (t.type, t.amount, t.session_id, t.resource_name) == (
        "transfer_in",
        MIN,
        session_id,
        "farm",
    )
    grouped = await service.notifications(market, ADA)
    assert [n.notification_title for n in grouped["bid_confirmed"]] == ["Bid confirmed"]


async def test_money_keeps_its_signs_and_never_goes_negative(
    market: Market, uow: FakeMarketUow, clock: FakeClock
) -> None:
    session_id, farm = await _ready(market)
    now = clock()
    async with uow() as tx:
        with pytest.raises(Conflict, match="Bad operator signal for transaction payment"):
            await service.book(
                tx,
                user_id=ADA.id,
                amount=Decimal(1),
                kind="payment",
                now=now,
                session_id=session_id,
                resource_id=farm,
            )
        with pytest.raises(Conflict, match="Bad operator signal for transaction transfer_in"):
            await service.book(
                tx,
                user_id=ADA.id,
                amount=Decimal(-1),
                kind="transfer_in",
                now=now,
                session_id=session_id,
                resource_id=farm,
            )
        await service.book(
            tx,
            user_id=ADA.id,
            amount=Decimal("10.5"),
            kind="transfer_in",
            now=now,
            session_id=session_id,
            resource_id=farm,
        )
        with pytest.raises(Conflict, match="already exists"):
            await service.book(
                tx,
                user_id=ADA.id,
                amount=Decimal(1),
                kind="transfer_in",
                now=now,
                session_id=session_id,
                resource_id=farm,
            )
        with pytest.raises(Conflict, match="Final balance lower than zero"):
            await service.book(
                tx,
                user_id=ADA.id,
                amount=Decimal("-10.6"),
                kind="payment",
                now=now,
                session_id=session_id,
                resource_id=farm,
            )
        await service.book(
            tx,
            user_id=ADA.id,
            amount=Decimal("-10.5"),
            kind="payment",
            now=now,
            session_id=session_id,
            resource_id=farm,
        )
        await tx.commit()
    (balance,) = await service.balances(market, ADA)
    assert (balance.balance, balance.total_payment, balance.total_deposit) == (
        Decimal(0),
        Decimal("10.5"),
        Decimal("10.5"),
    )
    with pytest.raises(Conflict, match="Final balance lower than zero"):
        await service.transfer_out(
            market, service.TransferOut(ADA.id, Decimal(1), iota_address(1), "out-1")
        )
    assert await service.transfers(market, ROOT) == []
