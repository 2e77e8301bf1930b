"""Money: transactions, balances (total and per session), fees, price weights and
transfers out. Amounts are exact `Decimal`s."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tickhub.market.repository._records import (
    BalanceRecord,
    FeeRecord,
    SessionBalanceRecord,
    TransactionRecord,
    TransferOutRecord,
    WeightRecord,
)
from tickhub.market.repository._tables import (
    balances_t,
    fees_t,
    owned,
    resources_t,
    session_balances_t,
    transactions_t,
    transfers_t,
    weights_t,
)

ZERO = Decimal(0)


def _balance(row: Row[Any]) -> BalanceRecord:
    return BalanceRecord(
        row.user_id,
        row.balance,
        row.total_deposit,
        row.total_withdraw,
        row.total_payment,
        row.total_revenue,
        row.updated_at,
    )


def _session_balance(row: Row[Any]) -> SessionBalanceRecord:
    return SessionBalanceRecord(
        row.session_id,
        row.user_id,
        row.resource_id,
        row.session_balance,
        row.session_deposit,
        row.session_payment,
        row.session_revenue,
        row.registered_at,
    )


def _transfer(r: Row[Any]) -> TransferOutRecord:
    return TransferOutRecord(
        r.id,
        r.user_id,
        r.amount,
        r.user_wallet_address,
        r.tangle_msg_id,
        bool(r.is_solid),
        r.registered_at,
    )


class MoneyRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    # ------------------------------------------------------------ transactions

    async def add_transaction(self, **values: Any) -> None:
        await self.conn.execute(insert(transactions_t).values(**values))

    async def transaction_exists(
        self, session_id: int, user_id: str, resource_id: str, type: str
    ) -> bool:
        stmt = select(transactions_t.c.id).where(
            transactions_t.c.session_id == session_id,
            transactions_t.c.user_id == user_id,
            transactions_t.c.resource_id == resource_id,
            transactions_t.c.type == type,
        )
        return (await self.conn.scalar(stmt)) is not None

    async def transactions(
        self, user_id: str | None, *, session_id: int | None = None
    ) -> list[TransactionRecord]:
        stmt = owned(
            select(*transactions_t.c, resources_t.c.name.label("resource_name")).select_from(
                transactions_t.outerjoin(
                    resources_t, resources_t.c.id == transactions_t.c.resource_id
                )
            ),
            transactions_t,
            user_id,
        )
        if session_id is not None:
            stmt = stmt.where(transactions_t.c.session_id == session_id)
        stmt = stmt.order_by(transactions_t.c.id)
        return [
            TransactionRecord(
                r.id,
                r.session_id,
                r.user_id,
                r.resource_id,
                r.resource_name,
                r.amount,
                r.type,
                r.registered_at,
            )
            for r in await self.conn.execute(stmt)
        ]

    # ------------------------------------------------------------ balances

    async def balance(self, user_id: str, *, lock: bool = False) -> BalanceRecord | None:
        stmt = select(balances_t).where(balances_t.c.user_id == user_id)
        if lock:
            stmt = stmt.with_for_update()
        row = (await self.conn.execute(stmt)).first()
        return _balance(row) if row else None

    async def balances(self, user_id: str | None) -> list[BalanceRecord]:
        stmt = owned(select(balances_t), balances_t, user_id).order_by(balances_t.c.user_id)
        return [_balance(r) for r in await self.conn.execute(stmt)]

    async def add_balance(self, user_id: str, now: datetime) -> None:
        await self.conn.execute(
            insert(balances_t).values(
                user_id=user_id,
                balance=ZERO,
                total_deposit=ZERO,
                total_withdraw=ZERO,
                total_payment=ZERO,
                total_revenue=ZERO,
                updated_at=now,
            )
        )

    async def set_balance(self, user_id: str, **values: Any) -> None:
        await self.conn.execute(
            update(balances_t).where(balances_t.c.user_id == user_id).values(**values)
        )

    async def session_balance(
        self, session_id: int, user_id: str, resource_id: str
    ) -> SessionBalanceRecord | None:
        stmt = select(session_balances_t).where(
            session_balances_t.c.session_id == session_id,
            session_balances_t.c.user_id == user_id,
            session_balances_t.c.resource_id == resource_id,
        )
        row = (await self.conn.execute(stmt)).first()
        return _session_balance(row) if row else None

    async def session_balances(
        self,
        user_id: str | None,
        *,
        session_id: int | None = None,
        resource_id: str | None = None,
    ) -> list[SessionBalanceRecord]:
        t = session_balances_t
        stmt = owned(select(t), t, user_id)
        if session_id is not None:
            stmt = stmt.where(t.c.session_id == session_id)
        if resource_id is not None:
            stmt = stmt.where(t.c.resource_id == resource_id)
        stmt = stmt.order_by(t.c.session_id, t.c.user_id, t.c.id)
        return [_session_balance(r) for r in await self.conn.execute(stmt)]

    async def add_session_balance(self, **values: Any) -> None:
        await self.conn.execute(insert(session_balances_t).values(**values))

    async def set_session_balance(
        self, session_id: int, user_id: str, resource_id: str, **values: Any
    ) -> None:
        t = session_balances_t
        await self.conn.execute(
            update(t)
            .where(
                t.c.session_id == session_id, t.c.user_id == user_id, t.c.resource_id == resource_id
            )
            .values(**values)
        )

    # ------------------------------------------------------------ fees and weights

    async def add_fee(self, session_id: int, amount: Decimal, now: datetime) -> None:
        await self.conn.execute(
            insert(fees_t).values(session_id=session_id, amount=amount, registered_at=now)
        )

    async def set_fee(self, session_id: int, amount: Decimal) -> None:
        await self.conn.execute(
            update(fees_t).where(fees_t.c.session_id == session_id).values(amount=amount)
        )

    async def fees(self, session_id: int | None = None) -> list[FeeRecord]:
        stmt = select(fees_t).order_by(fees_t.c.session_id)
        if session_id is not None:
            stmt = stmt.where(fees_t.c.session_id == session_id)
        return [
            FeeRecord(r.session_id, r.amount, r.registered_at)
            for r in await self.conn.execute(stmt)
        ]

    async def add_weights(
        self, session_id: int, weights: list[tuple[Decimal, float]], *, first_step: int = 0
    ) -> None:
        if not weights:
            return
        await self.conn.execute(
            insert(weights_t),
            [
                {"session_id": session_id, "step": first_step + i, "price": price, "weights_p": w}
                for i, (price, w) in enumerate(weights)
            ],
        )

    async def weights(self, session_id: int | None = None) -> list[WeightRecord]:
        stmt = select(weights_t).order_by(weights_t.c.session_id, weights_t.c.step)
        if session_id is not None:
            stmt = stmt.where(weights_t.c.session_id == session_id)
        return [
            WeightRecord(r.id, r.session_id, r.step, r.price, float(r.weights_p))
            for r in await self.conn.execute(stmt)
        ]

    # ------------------------------------------------------------ transfers out

    async def add_transfer(self, **values: Any) -> int:
        result = await self.conn.execute(insert(transfers_t).values(**values))
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    async def transfer(self, transfer_id: int, *, lock: bool = False) -> TransferOutRecord | None:
        stmt = select(transfers_t).where(transfers_t.c.id == transfer_id)
        if lock:
            stmt = stmt.with_for_update()
        row = (await self.conn.execute(stmt)).first()
        return _transfer(row) if row else None

    async def update_transfer(self, transfer_id: int, **values: Any) -> None:
        await self.conn.execute(
            update(transfers_t).where(transfers_t.c.id == transfer_id).values(**values)
        )

    async def transfers(
        self, user_id: str | None, *, is_solid: bool | None = None
    ) -> list[TransferOutRecord]:
        stmt = owned(select(transfers_t), transfers_t, user_id).order_by(transfers_t.c.id)
        if is_solid is not None:
            stmt = stmt.where(transfers_t.c.is_solid == is_solid)
        return [_transfer(r) for r in await self.conn.execute(stmt)]
