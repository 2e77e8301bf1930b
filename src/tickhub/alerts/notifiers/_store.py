"""The notifiers' queries on the delivery outbox (SQLAlchemy Core). Never commits: the
worker opens one short unit of work per claim and per recorded result.

Claiming is fair between users: due rows are ranked within their user (oldest first)
and taken rank by rank, so one user's thousand due deliveries do not push another's one
back; a user who had `per_user_hour` deliveries sent in the last hour gets nothing more
until the hour moves on (the rows wait, pending). It is one
`UPDATE … WHERE id IN (SELECT … LIMIT n) RETURNING …` that counts the attempt and leases
the row (moves `next_attempt_at` past the longest a send may take),
so no worker takes it again while it is being sent. On PostgreSQL the inner SELECT is
`FOR UPDATE SKIP LOCKED`: concurrent workers claim disjoint rows without waiting on each
other. A worker that dies mid-send leaves the row pending; it is claimed again when its
lease runs out. A result is recorded only if the row is still the claimed attempt.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tickhub.alerts.repository import (
    AlertRecord,
    alert_record,
    alerts_t,
    deliveries_t,
    strategies_t,
    targets_t,
)

PENDING, SENT, FAILED = "pending", "sent", "failed"


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery taken for one attempt; `attempts` counts this one."""

    id: int
    alert_id: int
    channel: str
    target: str
    attempts: int


@dataclass(frozen=True, slots=True)
class Target:
    """An e-mail address or Telegram chat of a user, and how far its proof got."""

    id: int
    code_hash: str | None
    code_sent_at: datetime | None
    wrong_codes: int
    confirmed_at: datetime | None


@dataclass(frozen=True, slots=True)
class LoadedAlert:
    message: AlertRecord
    # The strategy's channels now; None when the strategy was deleted.
    channels: list[dict[str, Any]] | None


class OutboxRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def fail_interrupted(self, *, now: datetime, max_attempts: int) -> int:
        """Due rows whose attempts are used up (the last one was interrupted before its
        result was recorded, or the limit was lowered) become failed."""
        d = deliveries_t
        result = await self.conn.execute(
            update(d)
            .where(d.c.status == PENDING, d.c.next_attempt_at <= now, d.c.attempts >= max_attempts)
            .values(
                status=FAILED,
                last_error=f"gave up: the last of {max_attempts} attempts was interrupted "
                "before its result was recorded",
            )
        )
        return result.rowcount

    async def claim_due(
        self,
        *,
        now: datetime,
        lease_until: datetime,
        limit: int,
        max_attempts: int,
        per_user_hour: int | None = None,
    ) -> list[Claimed]:
        d, a = deliveries_t, alerts_t
        due_rows = (
            select(
                d.c.id,
                d.c.next_attempt_at,
                func.row_number()
                .over(partition_by=a.c.user_id, order_by=(d.c.next_attempt_at, d.c.id))
                .label("turn"),
            )
            .select_from(d.join(a, a.c.id == d.c.alert_id))
            .where(d.c.status == PENDING, d.c.next_attempt_at <= now, d.c.attempts < max_attempts)
        )
        if per_user_hour is not None:
            sent = (
                select(a.c.user_id)
                .select_from(d.join(a, a.c.id == d.c.alert_id))
                .where(d.c.status == SENT, d.c.delivered_at > now - timedelta(hours=1))
                .group_by(a.c.user_id)
                .having(func.count() >= per_user_hour)
            )
            due_rows = due_rows.where(a.c.user_id.not_in(sent))
        ranked = due_rows.subquery()
        fair = (
            select(ranked.c.id)
            .order_by(ranked.c.turn, ranked.c.next_attempt_at, ranked.c.id)
            .limit(limit)
        )
        due = select(d.c.id).where(d.c.id.in_(fair.scalar_subquery()))
        if self.conn.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        result = await self.conn.execute(
            update(d)
            .where(d.c.id.in_(due.scalar_subquery()))
            .values(attempts=d.c.attempts + 1, next_attempt_at=lease_until)
            .returning(d.c.id, d.c.alert_id, d.c.channel, d.c.target, d.c.attempts)
        )
        rows = [Claimed(r.id, r.alert_id, r.channel, r.target, r.attempts) for r in result]
        return sorted(rows, key=lambda c: c.id)

    async def load_alerts(self, alert_ids: Sequence[int]) -> dict[int, LoadedAlert]:
        """The alerts with their strategy's current channels."""
        if not alert_ids:
            return {}
        a, s = alerts_t, strategies_t
        result = await self.conn.execute(
            select(a, s.c.channels)
            .select_from(a.outerjoin(s, s.c.id == a.c.strategy_id))
            .where(a.c.id.in_(sorted(set(alert_ids))))
        )
        loaded: dict[int, LoadedAlert] = {}
        for r in result:
            channels = None if r.strategy_id is None else list(r.channels or [])
            loaded[r.id] = LoadedAlert(alert_record(r), channels)
        return loaded

    async def record(
        self,
        claimed: Claimed,
        *,
        status: str,
        response_status: int | None,
        last_error: str | None,
        next_attempt_at: datetime | None,
        delivered_at: datetime | None,
    ) -> bool:
        """Store one attempt's result; False when the row is no longer this attempt's (its
        lease ran out and another worker took it)."""
        d = deliveries_t
        values: dict[str, Any] = {
            "status": status,
            "response_status": response_status,
            "last_error": last_error,
            "delivered_at": delivered_at,
        }
        if next_attempt_at is not None:
            values["next_attempt_at"] = next_attempt_at
        result = await self.conn.execute(
            update(d)
            .where(d.c.id == claimed.id, d.c.attempts == claimed.attempts, d.c.status == PENDING)
            .values(**values)
        )
        return result.rowcount == 1

    async def next_due(self) -> datetime | None:
        """When the earliest pending delivery is due (leases included)."""
        d = deliveries_t
        value: datetime | None = await self.conn.scalar(
            select(func.min(d.c.next_attempt_at)).where(d.c.status == PENDING)
        )
        return value

    # -- targets proven by their user ------------------------------------------------

    async def target(self, user_id: str, channel: str, target: str) -> Target | None:
        t = targets_t
        row = (
            await self.conn.execute(
                select(t).where(
                    t.c.user_id == user_id, t.c.channel == channel, t.c.target == target
                )
            )
        ).first()
        if row is None:
            return None
        return Target(row.id, row.code_hash, row.code_sent_at, row.wrong_codes, row.confirmed_at)

    async def add_target(self, user_id: str, channel: str, target: str, now: datetime) -> None:
        await self.conn.execute(
            targets_t.insert().values(
                user_id=user_id, channel=channel, target=target, wrong_codes=0, created_at=now
            )
        )

    async def update_target(self, target_id: int, **values: Any) -> None:
        await self.conn.execute(
            update(targets_t).where(targets_t.c.id == target_id).values(**values)
        )
