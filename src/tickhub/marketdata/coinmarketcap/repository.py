"""Queries on the CoinMarketCap history tables: `CmcWrites` for the writer, `CmcReads`
for the services. Never commits: the caller's unit of work owns the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import ColumnElement, Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from tickhub.marketdata.coinmarketcap.models import CmcGlobalMetricsRow, CmcListingRow
from tickhub.marketdata.events import CmcGlobalMetrics, CmcListing

listings_t: Table = CmcListingRow.__table__  # type: ignore[assignment]
global_t: Table = CmcGlobalMetricsRow.__table__  # type: ignore[assignment]

# The columns besides the keys are the events' fields, under the same names.
_LISTING_VALUES = tuple(f.name for f in fields(CmcListing) if f.name != "cmc_id")
_GLOBAL_VALUES = tuple(
    f.name for f in fields(CmcGlobalMetrics) if f.name not in {"minute", "convert"}
)


@dataclass(frozen=True, slots=True)
class StoredListing:
    minute: int
    convert: str
    listing: CmcListing


def _insert(conn: AsyncConnection, table: Any) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _listing(row: Any) -> StoredListing:
    m = row._mapping
    item = CmcListing(cmc_id=m["cmc_id"], **{name: m[name] for name in _LISTING_VALUES})
    return StoredListing(m["minute"], m["convert"], item)


def _global(row: Any) -> CmcGlobalMetrics:
    m = row._mapping
    return CmcGlobalMetrics(
        minute=m["minute"], convert=m["convert"], **{name: m[name] for name in _GLOBAL_VALUES}
    )


class CmcWrites:
    """The writer's statements: one minute of listings or of global metrics."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def add_listings(self, minute: int, convert: str, items: Sequence[CmcListing]) -> int:
        """Store one minute's listings; rows already stored are left as they are. Returns
        how many rows were new."""
        if not items:
            return 0
        seen: set[int] = set()
        rows = []
        for item in items:
            if item.cmc_id in seen:  # one row per coin and minute, the first wins
                continue
            seen.add(item.cmc_id)
            rows.append(
                {
                    "cmc_id": item.cmc_id,
                    "minute": minute,
                    "convert": convert,
                    **{name: getattr(item, name) for name in _LISTING_VALUES},
                }
            )
        stmt = (
            _insert(self.conn, listings_t)
            .on_conflict_do_nothing(index_elements=["cmc_id", "minute"])
            .returning(listings_t.c.cmc_id)
        )
        result = await self.conn.execute(stmt, rows)
        return len(result.all())

    async def add_global(self, metrics: CmcGlobalMetrics) -> bool:
        """Store one minute's global metrics; False when that minute is already stored."""
        stmt = (
            _insert(self.conn, global_t)
            .values(
                minute=metrics.minute,
                convert=metrics.convert,
                **{name: getattr(metrics, name) for name in _GLOBAL_VALUES},
            )
            .on_conflict_do_nothing(index_elements=["minute"])
            .returning(global_t.c.minute)
        )
        result = await self.conn.execute(stmt)
        return result.first() is not None


class CmcReads:
    """The services' queries: latest listings, one coin, global metrics, their history."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def latest_listings_minute(self) -> int | None:
        minute: int | None = await self.conn.scalar(select(func.max(listings_t.c.minute)))
        return minute

    async def listings_at(self, minute: int, limit: int | None = None) -> list[StoredListing]:
        """The listings of one minute by rank (unranked last)."""
        c = listings_t.c
        stmt = (
            select(listings_t)
            .where(c.minute == minute)
            .order_by(c.rank.is_(None), c.rank, c.cmc_id)
        )
        if limit is not None:
            stmt = stmt.limit(limit)
        return [_listing(r) for r in await self.conn.execute(stmt)]

    async def coin_by_id(self, cmc_id: int) -> StoredListing | None:
        c = listings_t.c
        stmt = select(listings_t).where(c.cmc_id == cmc_id).order_by(c.minute.desc()).limit(1)
        row = (await self.conn.execute(stmt)).first()
        return None if row is None else _listing(row)

    async def coin_by_symbol(self, symbol: str) -> StoredListing | None:
        """The coin listed last under `symbol` (of several, the best ranked)."""
        c = listings_t.c
        stmt = (
            select(listings_t)
            .where(c.symbol == symbol)
            .order_by(c.minute.desc(), c.rank.is_(None), c.rank, c.cmc_id)
            .limit(1)
        )
        row = (await self.conn.execute(stmt)).first()
        return None if row is None else _listing(row)

    async def listing_history(
        self, cmc_id: int, start: int, end: int, limit: int
    ) -> list[StoredListing]:
        """Rows of one coin with start <= minute < end, oldest first."""
        c = listings_t.c
        stmt = (
            select(listings_t)
            .where(c.cmc_id == cmc_id, c.minute >= start, c.minute < end)
            .order_by(c.minute)
            .limit(limit)
        )
        return [_listing(r) for r in await self.conn.execute(stmt)]

    async def latest_global(self) -> CmcGlobalMetrics | None:
        stmt = select(global_t).order_by(global_t.c.minute.desc()).limit(1)
        row = (await self.conn.execute(stmt)).first()
        return None if row is None else _global(row)

    async def global_history(self, start: int, end: int, limit: int) -> list[CmcGlobalMetrics]:
        c = global_t.c
        stmt = (
            select(global_t)
            .where(c.minute >= start, c.minute < end)
            .order_by(c.minute)
            .limit(limit)
        )
        return [_global(r) for r in await self.conn.execute(stmt)]

    async def global_as_of(self, first: int, last: int, step: int) -> list[CmcGlobalMetrics]:
        """The rows a carry-forward onto the times `first`, `first + step`, … `last` needs
        (see `_as_of`), oldest first."""
        return [_global(r) for r in await self._as_of(global_t, (), first, last, step)]

    async def listing_as_of(
        self, cmc_id: int, first: int, last: int, step: int
    ) -> list[StoredListing]:
        """`global_as_of` for one coin's listing rows."""
        where = (listings_t.c.cmc_id == cmc_id,)
        return [_listing(r) for r in await self._as_of(listings_t, where, first, last, step)]

    async def _as_of(
        self,
        table: Table,
        where: tuple[ColumnElement[bool], ...],
        first: int,
        last: int,
        step: int,
    ) -> list[Any]:
        """The latest row at or before `first`, and the latest row of each step after it
        up to `last` ((first, first + step], (first + step, first + 2 step], …): for
        every time first + k * step, the latest row at or before it is among them. At
        most one row per step, however many minutes are stored in it."""
        minute = table.c.minute
        bucket = (minute - first + (step - 1)) // step
        latest = (
            select(func.max(minute)).where(*where, minute > first, minute <= last).group_by(bucket)
        )
        before = select(table).where(*where, minute <= first).order_by(minute.desc()).limit(1)
        rows = list(await self.conn.execute(before))
        if last > first:
            after = select(table).where(*where, minute.in_(latest)).order_by(minute)
            rows.extend(await self.conn.execute(after))
        return rows
