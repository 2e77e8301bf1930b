"""Raw data, forecasts, notifications and clearing records. Raw data and forecasts are
written in bulk, as upserts (INSERT … ON CONFLICT DO UPDATE, on SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Table, cast, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from tickhub.market.repository._records import (
    ClearingRecord,
    ForecastRecord,
    MeasurementRow,
    NotificationRecord,
    RawDataRecord,
)
from tickhub.market.repository._tables import (
    clearings_t,
    forecasts_t,
    notification_types_t,
    notifications_t,
    owned,
    raw_t,
    resources_t,
)


class DataRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def _upsert(
        self, table: Table, rows: Sequence[dict[str, Any]], keys: list[str], change: list[str]
    ) -> None:
        """One statement, executed for many rows (SQLAlchemy batches them into multi-row
        VALUES within each backend's parameter limit)."""
        if not rows:
            return
        dialect = postgresql if self.conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=keys, set_={c: stmt.excluded[c] for c in change}
        )
        await self.conn.execute(stmt, list(rows))

    # ------------------------------------------------------------ raw data

    async def count_raw(self, user_id: str, resource_id: str) -> int:
        t = raw_t
        stmt = select(func.count()).where(t.c.user_id == user_id, t.c.resource_id == resource_id)
        return int(await self.conn.scalar(stmt) or 0)

    async def count_forecasts(self, user_id: str, resource_id: str, session_id: int) -> int:
        t = forecasts_t
        stmt = select(func.count()).where(
            t.c.user_id == user_id, t.c.resource_id == resource_id, t.c.session_id == session_id
        )
        return int(await self.conn.scalar(stmt) or 0)

    async def upsert_raw(self, rows: Sequence[dict[str, Any]]) -> None:
        await self._upsert(
            raw_t,
            rows,
            ["user_id", "resource_id", "datetime"],
            [
                "value",
                "units",
                "time_interval",
                "aggregation_type",
                "resource_type",
                "registered_at",
            ],
        )

    async def raw(
        self,
        user_id: str | None,
        *,
        resource_id: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        measurements_only: bool = False,
    ) -> list[RawDataRecord]:
        stmt = owned(
            select(*raw_t.c, resources_t.c.name.label("resource_name")).select_from(
                raw_t.join(resources_t, resources_t.c.id == raw_t.c.resource_id)
            ),
            raw_t,
            user_id,
        )
        if resource_id is not None:
            stmt = stmt.where(raw_t.c.resource_id == resource_id)
        if start is not None:
            stmt = stmt.where(raw_t.c.datetime >= start)
        if end is not None:
            stmt = stmt.where(raw_t.c.datetime <= end)
        if measurements_only:
            stmt = stmt.where(resources_t.c.type == "measurements")
        stmt = stmt.order_by(raw_t.c.datetime, raw_t.c.resource_id)
        return [
            RawDataRecord(
                r.user_id,
                r.resource_id,
                r.resource_name,
                r.resource_type,
                r.datetime,
                float(r.value),
                r.units,
                int(r.time_interval),
                r.aggregation_type,
                r.registered_at,
            )
            for r in await self.conn.execute(stmt)
        ]

    async def measurements(self, start: datetime, end: datetime) -> list[MeasurementRow]:
        """Every measurements resource's values in [start, end], by resource and time: what
        a clearing reads. Lean rows, no join, and the time as unix seconds computed by the
        database (a clearing reads hundreds of thousands of rows)."""
        t = raw_t
        if self.conn.dialect.name == "postgresql":
            epoch: Any = cast(func.extract("epoch", t.c.datetime), BigInteger)
        else:
            epoch = cast(func.strftime("%s", t.c.datetime), BigInteger)
        stmt = (
            select(t.c.resource_id, t.c.user_id, t.c.time_interval, t.c.units, epoch, t.c.value)
            .where(t.c.resource_type == "measurements", t.c.datetime >= start, t.c.datetime <= end)
            .order_by(t.c.resource_id, t.c.datetime)
        )
        result = await self.conn.execute(stmt)
        return [MeasurementRow(*row) for row in result.all()]

    # ------------------------------------------------------------ forecasts

    async def upsert_forecasts(self, rows: Sequence[dict[str, Any]]) -> None:
        await self._upsert(
            forecasts_t,
            rows,
            ["user_id", "resource_id", "session_id", "datetime"],
            ["request", "value", "units", "registered_at"],
        )

    async def forecasts(
        self,
        user_id: str | None,
        *,
        resource_id: str | None = None,
        session_id: int | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[ForecastRecord]:
        t = forecasts_t
        stmt = owned(
            select(*t.c, resources_t.c.name.label("resource_name")).select_from(
                t.join(resources_t, resources_t.c.id == t.c.resource_id)
            ),
            t,
            user_id,
        )
        if resource_id is not None:
            stmt = stmt.where(t.c.resource_id == resource_id)
        if session_id is not None:
            stmt = stmt.where(t.c.session_id == session_id)
        if start is not None:
            stmt = stmt.where(t.c.datetime >= start)
        if end is not None:
            stmt = stmt.where(t.c.datetime <= end)
        stmt = stmt.order_by(t.c.datetime, t.c.resource_id)
        return [
            ForecastRecord(
                r.user_id,
                r.resource_id,
                r.resource_name,
                r.session_id,
                r.datetime,
                r.request,
                float(r.value),
                r.units,
                r.registered_at,
            )
            for r in await self.conn.execute(stmt)
        ]

    # ------------------------------------------------------------ notifications

    async def notify(self, rows: Sequence[dict[str, Any]]) -> None:
        """Add notifications; one whose `key` exists already is skipped (a rerun)."""
        if not rows:
            return
        keys = [r["key"] for r in rows]
        stmt = select(notifications_t.c.key).where(notifications_t.c.key.in_(keys))
        taken = set((await self.conn.scalars(stmt)).all())
        fresh = [r for r in rows if r["key"] not in taken]
        if fresh:
            await self.conn.execute(insert(notifications_t), fresh)

    async def notifications(
        self, user_id: str, notification_id: int | None = None
    ) -> list[NotificationRecord]:
        t = notifications_t
        stmt = select(t).where(t.c.user_id == user_id).order_by(t.c.id)
        if notification_id is not None:
            stmt = stmt.where(t.c.id == notification_id)
        return [
            NotificationRecord(
                r.id,
                r.user_id,
                r.notification_type,
                r.notification_title,
                r.notification_description,
                bool(r.state),
            )
            for r in await self.conn.execute(stmt)
        ]

    async def set_notification_state(self, user_id: str, notification_id: int, state: bool) -> bool:
        t = notifications_t
        result = await self.conn.execute(
            update(t).where(t.c.id == notification_id, t.c.user_id == user_id).values(state=state)
        )
        return bool(result.rowcount == 1)

    # ------------------------------------------------------------ notification types

    async def notification_types(self) -> list[tuple[int, str]]:
        t = notification_types_t
        return [(r.id, r.name) for r in await self.conn.execute(select(t).order_by(t.c.id))]

    async def add_notification_type(self, name: str) -> int:
        result = await self.conn.execute(insert(notification_types_t).values(name=name))
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    async def rename_notification_type(self, type_id: int, old: str, new: str) -> None:
        t, n = notification_types_t, notifications_t
        await self.conn.execute(update(t).where(t.c.id == type_id).values(name=new))
        await self.conn.execute(
            update(n).where(n.c.notification_type == old).values(notification_type=new)
        )

    async def delete_notification_type(self, type_id: int, name: str) -> None:
        """The type and its notifications (the seed's cascade)."""
        t, n = notification_types_t, notifications_t
        await self.conn.execute(delete(n).where(n.c.notification_type == name))
        await self.conn.execute(delete(t).where(t.c.id == type_id))

    # ------------------------------------------------------------ clearings

    async def clearing(self, session_id: int) -> ClearingRecord | None:
        stmt = select(clearings_t).where(clearings_t.c.session_id == session_id)
        r = (await self.conn.execute(stmt)).first()
        return ClearingRecord(r.session_id, r.status, r.attempts, r.next_session_id) if r else None

    async def start_clearing(self, session_id: int, now: datetime) -> None:
        found = await self.clearing(session_id)
        if found is None:
            await self.conn.execute(
                insert(clearings_t).values(
                    session_id=session_id, status="running", attempts=1, started_at=now
                )
            )
        else:
            await self.conn.execute(
                update(clearings_t)
                .where(clearings_t.c.session_id == session_id)
                .values(attempts=found.attempts + 1, started_at=now)
            )

    async def claim_clearing(self, session_id: int, now: datetime) -> None:
        """The session's books are an external engine's: the built-in one skips it."""
        await self.conn.execute(
            insert(clearings_t).values(
                session_id=session_id, status="external", attempts=0, started_at=now
            )
        )

    async def book_clearing(
        self, session_id: int, now: datetime, next_session_id: int | None
    ) -> None:
        await self.conn.execute(
            update(clearings_t)
            .where(clearings_t.c.session_id == session_id)
            .values(status="booked", booked_at=now, next_session_id=next_session_id)
        )
