"""The delivery worker's unit of work on the outbox: `OutboxUow` is what the worker may
use, `OutboxUnitOfWork` the database one (on `OutboxRepository`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from tickhub.alerts.notifiers._store import Claimed, LoadedAlert, OutboxRepository, Target
from tickhub.common.uow import Uow
from tickhub.db import UnitOfWork


class OutboxStore(Protocol):
    """The outbox queries (see `OutboxRepository`)."""

    async def fail_interrupted(self, *, now: datetime, max_attempts: int) -> int: ...
    async def claim_due(
        self,
        *,
        now: datetime,
        lease_until: datetime,
        limit: int,
        max_attempts: int,
        per_user_hour: int | None = None,
    ) -> list[Claimed]: ...
    async def load_alerts(self, alert_ids: Sequence[int]) -> dict[int, LoadedAlert]: ...
    async def record(
        self,
        claimed: Claimed,
        *,
        status: str,
        response_status: int | None,
        last_error: str | None,
        next_attempt_at: datetime | None,
        delivered_at: datetime | None,
    ) -> bool: ...
    async def next_due(self) -> datetime | None: ...
    async def target(self, user_id: str, channel: str, target: str) -> Target | None: ...
    async def add_target(self, user_id: str, channel: str, target: str, now: datetime) -> None: ...
    async def update_target(self, target_id: int, **values: Any) -> None: ...


class OutboxUow(Uow, Protocol):
    @property
    def outbox(self) -> OutboxStore: ...


OutboxUowFactory = Callable[[], OutboxUow]


class OutboxUnitOfWork(UnitOfWork):
    outbox: OutboxRepository

    def _open(self, conn: AsyncConnection) -> None:
        self.outbox = OutboxRepository(conn)
