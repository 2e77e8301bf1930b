"""Accounts queries (SQLAlchemy Core). Never commits: the service owns the transaction.

Methods that take `user_id` filter on it, so an object of another user is simply not
found; `None` means "any user" and is only passed for admins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Select, Table, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tickhub.accounts.models import (
    ApiKey,
    MarketWallet,
    RefreshToken,
    Resource,
    User,
    UserSettings,
    UserWallet,
)

users_t = cast(Table, User.__table__)
refresh_t = cast(Table, RefreshToken.__table__)
keys_t = cast(Table, ApiKey.__table__)
settings_t = cast(Table, UserSettings.__table__)
wallets_t = cast(Table, UserWallet.__table__)
market_wallet_t = cast(Table, MarketWallet.__table__)
resources_t = cast(Table, Resource.__table__)

MARKET_WALLET_ID = 1


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: str
    email: str
    password_hash: str
    first_name: str
    last_name: str
    is_verified: bool
    is_admin: bool
    created_at: datetime
    password_changed_at: datetime


@dataclass(frozen=True, slots=True)
class RefreshRecord:
    jti: str
    user_id: str
    family: str
    expires_at: datetime
    used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    id: str
    user_id: str
    name: str
    prefix: str
    key_hash: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class WalletRecord:
    user_id: str
    wallet_address: str
    registered_at: datetime


@dataclass(frozen=True, slots=True)
class MarketWalletRecord:
    wallet_address: str
    registered_at: datetime


@dataclass(frozen=True, slots=True)
class ResourceRecord:
    id: str
    user_id: str
    name: str
    type: str
    to_forecast: bool
    registered_at: datetime


def _user(row: Row[Any]) -> UserRecord:
    return UserRecord(
        row.id,
        row.email,
        row.password_hash,
        row.first_name,
        row.last_name,
        bool(row.is_verified),
        bool(row.is_admin),
        row.created_at,
        row.password_changed_at,
    )


def _key(row: Row[Any]) -> ApiKeyRecord:
    return ApiKeyRecord(
        row.id,
        row.user_id,
        row.name,
        row.prefix,
        row.key_hash,
        row.created_at,
        row.last_used_at,
        row.revoked_at,
    )


def _resource(row: Row[Any]) -> ResourceRecord:
    return ResourceRecord(
        row.id, row.user_id, row.name, row.type, bool(row.to_forecast), row.registered_at
    )


class AccountsRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    # ------------------------------------------------------------ users

    async def add_user(self, **values: Any) -> None:
        await self.conn.execute(insert(users_t).values(**values))

    async def user_by_id(self, user_id: str) -> UserRecord | None:
        row = (await self.conn.execute(select(users_t).where(users_t.c.id == user_id))).first()
        return _user(row) if row else None

    async def user_by_email(self, email: str) -> UserRecord | None:
        stmt = select(users_t).where(users_t.c.email == email)
        row = (await self.conn.execute(stmt)).first()
        return _user(row) if row else None

    async def users(self, user_id: str | None = None) -> list[UserRecord]:
        stmt = select(users_t).order_by(users_t.c.created_at, users_t.c.id)
        if user_id is not None:
            stmt = stmt.where(users_t.c.id == user_id)
        return [_user(r) for r in await self.conn.execute(stmt)]

    async def update_user(self, user_id: str, **values: Any) -> None:
        await self.conn.execute(update(users_t).where(users_t.c.id == user_id).values(**values))

    # ------------------------------------------------------------ refresh tokens

    async def add_refresh(
        self, *, jti: str, user_id: str, family: str, issued_at: datetime, expires_at: datetime
    ) -> None:
        await self.conn.execute(
            insert(refresh_t).values(
                jti=jti, user_id=user_id, family=family, issued_at=issued_at, expires_at=expires_at
            )
        )

    async def refresh_by_jti(self, jti: str) -> RefreshRecord | None:
        row = (await self.conn.execute(select(refresh_t).where(refresh_t.c.jti == jti))).first()
        if row is None:
            return None
        return RefreshRecord(
            row.jti, row.user_id, row.family, row.expires_at, row.used_at, row.revoked_at
        )

    async def use_refresh(self, jti: str, now: datetime) -> bool:
        """Mark a live refresh token used; False when it was already used or revoked
        (atomic, so two concurrent refreshes cannot both succeed)."""
        result = await self.conn.execute(
            update(refresh_t)
            .where(
                refresh_t.c.jti == jti,
                refresh_t.c.used_at.is_(None),
                refresh_t.c.revoked_at.is_(None),
            )
            .values(used_at=now)
        )
        return bool(result.rowcount == 1)

    async def revoke_family(self, family: str, now: datetime) -> None:
        await self.conn.execute(
            update(refresh_t)
            .where(refresh_t.c.family == family, refresh_t.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    async def revoke_user_refresh(self, user_id: str, now: datetime) -> None:
        await self.conn.execute(
            update(refresh_t)
            .where(refresh_t.c.user_id == user_id, refresh_t.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    async def purge_refresh(self, user_id: str, *, before: datetime) -> None:
        """Forget a user's refresh tokens that expired before `before`."""
        await self.conn.execute(
            delete(refresh_t).where(refresh_t.c.user_id == user_id, refresh_t.c.expires_at < before)
        )

    # ------------------------------------------------------------ API keys

    async def add_key(self, **values: Any) -> None:
        await self.conn.execute(insert(keys_t).values(**values))

    async def key_by_prefix(self, prefix: str) -> ApiKeyRecord | None:
        stmt = select(keys_t).where(keys_t.c.prefix == prefix)
        row = (await self.conn.execute(stmt)).first()
        return _key(row) if row else None

    async def key(self, key_id: str, user_id: str | None) -> ApiKeyRecord | None:
        stmt = _owned(select(keys_t).where(keys_t.c.id == key_id), keys_t, user_id)
        row = (await self.conn.execute(stmt)).first()
        return _key(row) if row else None

    async def keys(self, user_id: str | None) -> list[ApiKeyRecord]:
        stmt = _owned(select(keys_t), keys_t, user_id).order_by(keys_t.c.created_at, keys_t.c.id)
        return [_key(r) for r in await self.conn.execute(stmt)]

    async def revoke_key(self, key_id: str, now: datetime) -> None:
        await self.conn.execute(
            update(keys_t)
            .where(keys_t.c.id == key_id, keys_t.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    async def touch_key(self, key_id: str, now: datetime, stale_before: datetime) -> None:
        """Record a use, at most once per interval (a write per request would be waste)."""
        await self.conn.execute(
            update(keys_t)
            .where(
                keys_t.c.id == key_id,
                or_(keys_t.c.last_used_at.is_(None), keys_t.c.last_used_at < stale_before),
            )
            .values(last_used_at=now)
        )

    # ------------------------------------------------------------ settings

    async def settings(self, user_id: str) -> dict[str, Any] | None:
        stmt = select(settings_t.c.data).where(settings_t.c.user_id == user_id)
        data = await self.conn.scalar(stmt)
        return dict(data) if data is not None else None

    async def put_settings(self, user_id: str, data: dict[str, Any], now: datetime) -> None:
        changed = await self.conn.execute(
            update(settings_t)
            .where(settings_t.c.user_id == user_id)
            .values(data=data, updated_at=now)
        )
        if changed.rowcount == 0:
            await self.conn.execute(
                insert(settings_t).values(user_id=user_id, data=data, updated_at=now)
            )

    # ------------------------------------------------------------ wallets

    async def wallets(self, user_id: str | None) -> list[WalletRecord]:
        stmt = _owned(select(wallets_t), wallets_t, user_id).order_by(wallets_t.c.registered_at)
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
        stmt = _owned(select(resources_t), resources_t, user_id)
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


def _owned(stmt: Select[Any], table: Table, user_id: str | None) -> Select[Any]:
    return stmt if user_id is None else stmt.where(table.c.user_id == user_id)
