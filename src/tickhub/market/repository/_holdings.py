"""Wallets (the users' and the market's) and resources."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tickhub.market.repository._records import MarketWalletRecord, ResourceRecord, WalletRecord
from tickhub.market.repository._tables import (
    MARKET_WALLET_ID,
    market_wallet_t,
    owned,
    resources_t,
    wallets_t,
)


def _resource(row: Row[Any]) -> ResourceRecord:
    return ResourceRecord(
        row.id, row.user_id, row.name, row.type, bool(row.to_forecast), row.registered_at
    )


class HoldingsRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    # ------------------------------------------------------------ wallets

    async def wallets(self, user_id: str | None) -> list[WalletRecord]:
        stmt = owned(select(wallets_t), wallets_t, user_id).order_by(wallets_t.c.registered_at)
        return [
            WalletRecord(r.user_id, r.wallet_address, r.registered_at)
            for r in await self.conn.execute(stmt)
        ]

    async def wallet_owner(self, address: str) -> str | None:
        stmt = select(wallets_t.c.user_id).where(wallets_t.c.wallet_address == address)
        owner = await self.conn.scalar(stmt)
        return str(owner) if owner is not None else None

    async def add_wallet(self, user_id: str, address: str, now: datetime) -> None:
        await self.conn.execute(
            insert(wallets_t).values(user_id=user_id, wallet_address=address, registered_at=now)
        )

    async def update_wallet(self, user_id: str, address: str, now: datetime) -> bool:
        result = await self.conn.execute(
            update(wallets_t)
            .where(wallets_t.c.user_id == user_id)
            .values(wallet_address=address, registered_at=now)
        )
        return bool(result.rowcount == 1)

    async def market_wallet(self) -> MarketWalletRecord | None:
        row = (await self.conn.execute(select(market_wallet_t))).first()
        return MarketWalletRecord(row.wallet_address, row.registered_at) if row else None

    async def set_market_wallet(self, address: str, now: datetime, *, create: bool) -> None:
        if create:
            stmt: Any = insert(market_wallet_t).values(
                id=MARKET_WALLET_ID, wallet_address=address, registered_at=now
            )
        else:
            stmt = (
                update(market_wallet_t)
                .where(market_wallet_t.c.id == MARKET_WALLET_ID)
                .values(wallet_address=address, registered_at=now)
            )
        await self.conn.execute(stmt)

    # ------------------------------------------------------------ resources

    async def resources(
        self,
        user_id: str | None,
        *,
        resource_id: str | None = None,
        name: str | None = None,
        to_forecast: bool | None = None,
    ) -> list[ResourceRecord]:
        stmt = owned(select(resources_t), resources_t, user_id)
        if resource_id is not None:
            stmt = stmt.where(resources_t.c.id == resource_id)
        if name is not None:
            stmt = stmt.where(resources_t.c.name == name)
        if to_forecast is not None:
            stmt = stmt.where(resources_t.c.to_forecast == to_forecast)
        stmt = stmt.order_by(resources_t.c.registered_at, resources_t.c.id)
        return [_resource(r) for r in await self.conn.execute(stmt)]

    async def resource_exists(
        self, user_id: str, name: str, type: str, *, other_than: str | None = None
    ) -> bool:
        stmt = select(func.count()).where(
            resources_t.c.user_id == user_id,
            resources_t.c.name == name,
            resources_t.c.type == type,
        )
        if other_than is not None:
            stmt = stmt.where(resources_t.c.id != other_than)
        return bool(await self.conn.scalar(stmt))

    async def add_resource(self, **values: Any) -> None:
        await self.conn.execute(insert(resources_t).values(**values))

    async def update_resource(self, resource_id: str, **values: Any) -> None:
        await self.conn.execute(
            update(resources_t).where(resources_t.c.id == resource_id).values(**values)
        )

    async def delete_resource(self, resource_id: str) -> None:
        await self.conn.execute(delete(resources_t).where(resources_t.c.id == resource_id))
