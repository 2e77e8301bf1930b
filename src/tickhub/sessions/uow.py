"""The sessions unit of work: what the use cases in `tickhub.sessions.service` receive.

`SessionsUow` is what they may use (the `SessionsStore` queries and the commit);
`SessionsUnitOfWork` is the database one, on `SessionsRepository`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from tickhub.common.uow import Uow
from tickhub.db import UnitOfWork
from tickhub.sessions.repository import (
    ModelRecord,
    SessionRecord,
    SessionsRepository,
    Totals,
    TransactionRecord,
)


class SessionsStore(Protocol):
    """The sessions queries (see `SessionsRepository`). `owner` None means any owner."""

    async def add_session(self, values: dict[str, Any]) -> int: ...
    async def session(self, session_id: int, owner: str | None) -> SessionRecord | None: ...
    async def sessions(
        self, owner: str | None, *, limit: int, offset: int
    ) -> list[SessionRecord]: ...
    async def count_sessions(self, owner: str | None) -> int: ...
    async def update_session(self, session_id: int, values: dict[str, Any]) -> None: ...
    async def delete_session(self, session_id: int) -> None: ...
    async def sessions_of_model(self, model_id: int) -> list[int]: ...
    async def totals(self, session_ids: list[int]) -> dict[int, Totals]: ...
    async def add_transaction(self, values: dict[str, Any]) -> int: ...
    async def add_transactions(self, rows: list[dict[str, Any]]) -> None: ...
    async def transaction(
        self, session_id: int, transaction_id: int
    ) -> TransactionRecord | None: ...
    async def transactions(
        self, session_id: int, *, limit: int, offset: int
    ) -> list[TransactionRecord]: ...
    async def count_transactions(self, session_id: int) -> int: ...
    async def update_transaction(self, transaction_id: int, values: dict[str, Any]) -> None: ...
    async def delete_transaction(self, transaction_id: int) -> None: ...
    async def add_model(self, values: dict[str, Any]) -> int: ...
    async def model(self, model_id: int, owner: str | None) -> ModelRecord | None: ...
    async def model_by_name(self, owner: str, name: str, version: str) -> ModelRecord | None: ...
    async def models(
        self,
        owner: str | None,
        *,
        name: str | None,
        dataset_label: str | None,
        limit: int,
        offset: int,
    ) -> tuple[list[ModelRecord], int]: ...
    async def update_model(self, model_id: int, values: dict[str, Any]) -> None: ...
    async def delete_model(self, model_id: int) -> None: ...


class SessionsUow(Uow, Protocol):
    @property
    def sessions(self) -> SessionsStore: ...


SessionsUowFactory = Callable[[], SessionsUow]


class SessionsUnitOfWork(UnitOfWork):
    sessions: SessionsRepository

    def _open(self, conn: AsyncConnection) -> None:
        self.sessions = SessionsRepository(conn)
