"""Accounts queries (SQLAlchemy Core). Never commits: the service owns the transaction.

Methods that take `user_id` filter on it, so an object of another user is simply not
found; `None` means "any user" and is only passed for admins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Select, Table, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tickhub.accounts.models import (
    ApiKey,
    RefreshToken,
    User,
    UserSettings,
)

users_t = cast(Table, User.__table__)
refresh_t = cast(Table, RefreshToken.__table__)
keys_t = cast(Table, ApiKey.__table__)
settings_t = cast(Table, UserSettings.__table__)


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


def _owned(stmt: Select[Any], table: Table, user_id: str | None) -> Select[Any]:
    return stmt if user_id is None else stmt.where(table.c.user_id == user_id)
