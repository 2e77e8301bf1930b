"""The accounts unit of work: what the use cases in `tickhub.accounts.service` receive
(through `Accounts.uow`).

`AccountsUow` is what they may use (the `AccountsStore` queries and the commit);
`AccountsUnitOfWork` is the database one, on `AccountsRepository`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from tickhub.accounts.repository import (
    AccountsRepository,
    ApiKeyRecord,
    RefreshRecord,
    UserRecord,
)
from tickhub.common.uow import Uow
from tickhub.db import UnitOfWork


class AccountsStore(Protocol):
    """The accounts queries (see `AccountsRepository`). `user_id` None means any user."""

    # users
    async def add_user(self, **values: Any) -> None: ...
    async def user_by_id(self, user_id: str) -> UserRecord | None: ...
    async def user_by_email(self, email: str) -> UserRecord | None: ...
    async def users(self, user_id: str | None = None) -> list[UserRecord]: ...
    async def update_user(self, user_id: str, **values: Any) -> None: ...

    # refresh tokens
    async def add_refresh(
        self, *, jti: str, user_id: str, family: str, issued_at: datetime, expires_at: datetime
    ) -> None: ...
    async def refresh_by_jti(self, jti: str) -> RefreshRecord | None: ...
    async def use_refresh(self, jti: str, now: datetime) -> bool: ...
    async def revoke_family(self, family: str, now: datetime) -> None: ...
    async def revoke_user_refresh(self, user_id: str, now: datetime) -> None: ...
    async def purge_refresh(self, user_id: str, *, before: datetime) -> None: ...

    # API keys
    async def add_key(self, **values: Any) -> None: ...
    async def key_by_prefix(self, prefix: str) -> ApiKeyRecord | None: ...
    async def key(self, key_id: str, user_id: str | None) -> ApiKeyRecord | None: ...
    async def keys(self, user_id: str | None) -> list[ApiKeyRecord]: ...
    async def revoke_key(self, key_id: str, now: datetime) -> None: ...
    async def touch_key(self, key_id: str, now: datetime, stale_before: datetime) -> None: ...

    # settings
    async def settings(self, user_id: str) -> dict[str, Any] | None: ...
    async def put_settings(self, user_id: str, data: dict[str, Any], now: datetime) -> None: ...


class AccountsUow(Uow, Protocol):
    @property
    def accounts(self) -> AccountsStore: ...


AccountsUowFactory = Callable[[], AccountsUow]


class AccountsUnitOfWork(UnitOfWork):
    accounts: AccountsRepository

    def _open(self, conn: AsyncConnection) -> None:
        self.accounts = AccountsRepository(conn)
