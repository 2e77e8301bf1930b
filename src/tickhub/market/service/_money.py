"""Money in the market: every movement is a transaction of one of four types with the
seed's sign rules (payment and transfer_out ≤ 0; revenue and transfer_in ≥ 0), applied to
the user's balance and session balance in the same unit of work. Amounts are exact
decimals; a movement that would leave a balance below zero is refused (409)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from tickhub.common.uow import ConstraintViolation
from tickhub.market.errors import Conflict, Invalid, NotFound
from tickhub.market.repository import (
    BalanceRecord,
    FeeRecord,
    SessionBalanceRecord,
    TransactionRecord,
    TransferOutRecord,
    WeightRecord,
)
from tickhub.market.service._context import Caller, Market
from tickhub.market.uow import MarketUow

ZERO = Decimal(0)
NEGATIVE = ("payment", "transfer_out")
POSITIVE = ("revenue", "transfer_in")
TOTAL = {
    "transfer_in": "total_deposit",
    "transfer_out": "total_withdraw",
    "payment": "total_payment",
    "revenue": "total_revenue",
}
SESSION_TOTAL = {
    "transfer_in": "session_deposit",
    "payment": "session_payment",
    "revenue": "session_revenue",
}


def plain(amount: Decimal) -> str:
    """An amount as the seed printed it: plain digits, no exponent."""
    return format(amount, "f")


def duplicated(kind: str, user_id: str, resource_id: str | None, session_id: int | None) -> str:
    return (
        f"Transaction of type '{kind}' already exists for user '{user_id}', resource "
        f"'{resource_id}' and market session '{session_id}'."
    )


async def open_balance(m: Market, user_id: str) -> None:
    """A new user's (empty) market balance; nothing when it exists."""
    try:
        async with m.uow() as tx:
            if await tx.money.balance(user_id) is None:
                await tx.money.add_balance(user_id, m.clock())
                await tx.commit()
    except ConstraintViolation:  # created concurrently: it exists, which was the point
        return


async def book(
    tx: MarketUow,
    *,
    user_id: str,
    amount: Decimal,
    kind: str,
    now: datetime,
    session_id: int | None = None,
    resource_id: str | None = None,
) -> None:
    """Record one movement and apply it to the balances. `transfer_out` carries no
    session; the others do. Raises `Conflict` for a wrong sign, a duplicate (the
    seed's unique (session, user, resource, type)) or a negative result."""
    if (kind in NEGATIVE and amount > 0) or (kind in POSITIVE and amount < 0):
        raise Conflict(
            f"Bad operator signal for transaction {kind} - {plain(amount)}.", field="amount"
        )
    if (
        session_id is not None
        and resource_id is not None
        and await tx.money.transaction_exists(session_id, user_id, resource_id, kind)
    ):
        raise Conflict(duplicated(kind, user_id, resource_id, session_id), field="type")
    balance = await tx.money.balance(user_id, lock=True)
    if balance is None:
        await tx.money.add_balance(user_id, now)
        balance = await tx.money.balance(user_id, lock=True)
        assert balance is not None
    new = balance.balance + amount
    if new < 0:
        raise Conflict(
            f"Final balance lower than zero. ({plain(new)} = {plain(balance.balance)} - "
            f"{plain(-amount)}).",
            field="amount",
        )
    total = getattr(balance, TOTAL[kind])
    await tx.money.set_balance(
        user_id, balance=new, updated_at=now, **{TOTAL[kind]: total + abs(amount)}
    )
    if session_id is not None and resource_id is not None:
        await _book_session(tx, session_id, user_id, resource_id, amount, kind, now)
    await tx.money.add_transaction(
        session_id=session_id,
        user_id=user_id,
        resource_id=resource_id,
        amount=amount,
        type=kind,
        registered_at=now,
    )


async def _book_session(
    tx: MarketUow,
    session_id: int,
    user_id: str,
    resource_id: str,
    amount: Decimal,
    kind: str,
    now: datetime,
) -> None:
    current = await tx.money.session_balance(session_id, user_id, resource_id)
    if current is None:
        await tx.money.add_session_balance(
            session_id=session_id,
            user_id=user_id,
            resource_id=resource_id,
            session_balance=ZERO,
            session_deposit=ZERO,
            session_payment=ZERO,
            session_revenue=ZERO,
            registered_at=now,
        )
        current = await tx.money.session_balance(session_id, user_id, resource_id)
        assert current is not None
    new = current.session_balance + amount
    if new < 0:
        raise Conflict("The user final balance cant be inferior to 0.", field="amount")
    values: dict[str, Decimal] = {"session_balance": new}
    if kind in SESSION_TOTAL:
        column = SESSION_TOTAL[kind]
        values[column] = getattr(current, column) + amount
    await tx.money.set_session_balance(session_id, user_id, resource_id, **values)


# ---------------------------------------------------------------- reads


async def balances(
    m: Market,
    caller: Caller,
    *,
    user_id: str | None = None,
    gte: Decimal | None = None,
    lte: Decimal | None = None,
) -> list[BalanceRecord]:
    """The caller's balance; an admin sees everyone's, or `user_id`'s. As the seed, `gte`
    wins over `lte` when both are given."""
    async with m.uow() as tx:
        found = await tx.money.balances(caller.scope(user_id))
    if gte is not None:
        return [b for b in found if b.balance >= gte]
    if lte is not None:
        return [b for b in found if b.balance <= lte]
    return found


async def session_balances(
    m: Market,
    caller: Caller,
    *,
    user_id: str | None = None,
    session_id: int | None = None,
    resource_id: str | None = None,
    by_resource: bool = True,
) -> list[SessionBalanceRecord]:
    """Per (session, user, resource). As the seed: `balance_by_resource=false` filters on
    `resource`; `true` (the default) sums each (session, user)'s resources (`resource`
    is then the first one's, `registered_at` the earliest)."""
    async with m.uow() as tx:
        found = await tx.money.session_balances(
            caller.scope(user_id),
            session_id=session_id,
            resource_id=None if by_resource else resource_id,
        )
    if not by_resource:
        return found
    summed: dict[tuple[int, str], SessionBalanceRecord] = {}
    for b in found:
        key = (b.session_id, b.user_id)
        if key not in summed:
            summed[key] = b
            continue
        s = summed[key]
        summed[key] = SessionBalanceRecord(
            s.session_id,
            s.user_id,
            s.resource_id,
            s.session_balance + b.session_balance,
            s.session_deposit + b.session_deposit,
            s.session_payment + b.session_payment,
            s.session_revenue + b.session_revenue,
            min(s.registered_at, b.registered_at),
        )
    return list(summed.values())


async def transactions(
    m: Market, caller: Caller, *, user_id: str | None = None, session_id: int | None = None
) -> list[TransactionRecord]:
    async with m.uow() as tx:
        return await tx.money.transactions(caller.scope(user_id), session_id=session_id)


async def fees(m: Market, session_id: int | None = None) -> list[FeeRecord]:
    async with m.uow() as tx:
        return await tx.money.fees(session_id)


async def weights(m: Market, session_id: int | None = None) -> list[WeightRecord]:
    async with m.uow() as tx:
        return await tx.money.weights(session_id)


# ---------------------------------------------------------------- transfers out


@dataclass(frozen=True, slots=True)
class TransferOut:
    user_id: str
    amount: Decimal
    user_wallet_address: str
    tangle_msg_id: str
    is_solid: bool = False


async def transfers(
    m: Market, caller: Caller, *, user_id: str | None = None, is_solid: bool | None = None
) -> list[TransferOutRecord]:
    async with m.uow() as tx:
        return await tx.money.transfers(caller.scope(user_id), is_solid=is_solid)


async def transfer_out(m: Market, t: TransferOut) -> TransferOutRecord:
    """Admin only: record money sent from the market's wallet to a user's, booking a
    `transfer_out` (refused when the balance would go negative)."""
    now = m.clock()
    async with m.uow() as tx:
        wallets = await tx.holdings.wallets(t.user_id)
        if not wallets:
            raise NotFound(
                f"No wallet address found for user '{t.user_id}'. "
                "Please register your address first.",
                field="user",
            )
        if wallets[0].wallet_address != t.user_wallet_address:
            raise Invalid(
                "The address is not the user's wallet address.", field="user_wallet_address"
            )
        await book(tx, user_id=t.user_id, amount=-t.amount, kind="transfer_out", now=now)
        transfer_id = await tx.money.add_transfer(
            user_id=t.user_id,
            amount=t.amount,
            user_wallet_address=t.user_wallet_address,
            tangle_msg_id=t.tangle_msg_id,
            is_solid=t.is_solid,
            registered_at=now,
        )
        found = [x for x in await tx.money.transfers(t.user_id) if x.id == transfer_id]
        await tx.commit()
    return found[0]


@dataclass(frozen=True, slots=True)
class TransferUpdate:
    """What a PUT of a transfer out may change; `None` keeps the value. `user` and
    `amount` are booked already: they may be restated, not changed."""

    user_id: str | None = None
    amount: Decimal | None = None
    user_wallet_address: str | None = None
    tangle_msg_id: str | None = None
    is_solid: bool | None = None


async def update_transfer(m: Market, transfer_id: int, u: TransferUpdate) -> TransferOutRecord:
    """Admin only: record how a transfer out went (its ledger reference, solid or not).
    The money left the user's balance when the transfer was recorded, once; an update
    books nothing (the seed booked it at every update)."""
    async with m.uow() as tx:
        found = await tx.money.transfer(transfer_id, lock=True)
        if found is None:
            raise NotFound(
                f"Transfer out {transfer_id} does not exist.", field="withdraw_transfer_id"
            )
        if u.user_id is not None and u.user_id != found.user_id:
            raise Conflict(
                f"Transfer out {transfer_id} was booked for user '{found.user_id}': its user "
                "cannot change.",
                field="user",
            )
        if u.amount is not None and u.amount != found.amount:
            raise Conflict(
                f"Transfer out {transfer_id} was booked for {plain(found.amount)}: its amount "
                "cannot change.",
                field="amount",
            )
        values = {
            k: v
            for k, v in (
                ("user_wallet_address", u.user_wallet_address),
                ("tangle_msg_id", u.tangle_msg_id),
                ("is_solid", u.is_solid),
            )
            if v is not None
        }
        if values:
            await tx.money.update_transfer(transfer_id, **values)
        updated = await tx.money.transfer(transfer_id)
        await tx.commit()
    assert updated is not None
    return updated
