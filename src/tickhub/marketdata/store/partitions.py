"""Time partitions of `trades` on PostgreSQL: created ahead, filled from the default
partition, dropped after the retention. SQLite has no partitions: everything here is a
no-op there.

Migration 0003 makes `trades` a table PARTITIONED BY RANGE (ts) with a DEFAULT partition,
so no row is ever refused. This module keeps the named partitions in step with time:

- the current period and the next `partition_ahead` ones exist (`trades_pYYYYMMDD`, named
  by their first day; bounds on UTC period starts, half-open [start, end), each end the
  next one's start, so there is neither a gap nor an overlap between two of them);
- rows that landed in the default partition (a period without a partition yet: late
  backfill, an import of old files) move into a partition created for their period;
- with `retention_days` > 0, whole partitions that end at or before now - retention are
  dropped, and so are default-partition rows of periods that ended before the cut. Only
  trades: candles, coverage ranges and latest prices stay.

Periods that already have partitions (made with another interval, or by hand) are left as
they are; only the uncovered parts of a wanted period get new partitions.

Every change runs in one short transaction that first takes the ACCESS EXCLUSIVE lock on
`trades` (with a lock timeout): PostgreSQL needs that lock to add, detach or drop a
partition anyway, taking it first avoids lock upgrades and lets two maintainers (two
processes) run at once: the second re-reads the catalog under the lock and finds nothing
left to do.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tickhub.common.time import now_us
from tickhub.db import UnitOfWork
from tickhub.settings import Settings, StorageSettings

log = logging.getLogger(__name__)

PartitionInterval = Literal["day", "week", "month"]

DAY_US = 86_400 * 1_000_000
TABLE = "trades"
DEFAULT_PARTITION = "trades_default"
# Beyond any microsecond timestamp: stands for MINVALUE / MAXVALUE bounds.
_MIN, _MAX = -(2**63), 2**63
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_BOUND = re.compile(r"FOR VALUES FROM \((?P<lo>[^)]*)\) TO \((?P<hi>[^)]*)\)")
# How long a maintenance transaction waits for the table lock before giving up until the
# next run (writers queue behind a waiting ACCESS EXCLUSIVE request).
LOCK_TIMEOUT = "5s"
_COLUMNS = "instrument_id, trade_id, ts, price, qty, is_buyer_maker"


@dataclass(frozen=True, slots=True, order=True)
class Partition:
    """A range partition of `trades`: start <= ts < end, in microseconds (UTC)."""

    start: int
    end: int
    name: str


@dataclass
class MaintenanceReport:
    created: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    moved_rows: int = 0  # from the default partition into new partitions
    deleted_rows: int = 0  # default-partition rows older than the retention


# ------------------------------------------------------------------ periods (pure)


def _to_dt(ts: int) -> datetime:
    return _EPOCH + timedelta(microseconds=ts)


def _to_us(d: datetime) -> int:
    delta = d - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def period_start(ts: int, interval: PartitionInterval) -> int:
    """The start (UTC midnight; Monday for weeks, the 1st for months) of ts's period."""
    day = ts // DAY_US
    if interval == "day":
        return day * DAY_US
    if interval == "week":
        return (day - (day + 3) % 7) * DAY_US  # 1970-01-01 was a Thursday
    d = _to_dt(day * DAY_US)
    return _to_us(d.replace(day=1))


def next_period(start: int, interval: PartitionInterval) -> int:
    """The start of the period after the one starting at `start`."""
    if interval == "day":
        return start + DAY_US
    if interval == "week":
        return start + 7 * DAY_US
    d = _to_dt(start)
    year, month = (d.year + 1, 1) if d.month == 12 else (d.year, d.month + 1)
    return _to_us(d.replace(year=year, month=month))


def periods(start: int, count: int, interval: PartitionInterval) -> list[tuple[int, int]]:
    """`count` consecutive periods from the one holding `start`, as [start, end) pairs."""
    out: list[tuple[int, int]] = []
    lo = period_start(start, interval)
    for _ in range(count):
        hi = next_period(lo, interval)
        out.append((lo, hi))
        lo = hi
    return out


def partition_name(start: int) -> str:
    """`trades_pYYYYMMDD` for a partition starting at UTC midnight (all of ours do)."""
    d = _to_dt(start)
    if start % DAY_US:
        return f"{TABLE}_p{d:%Y%m%d_%H%M%S_%f}"  # a piece next to a hand-made partition
    return f"{TABLE}_p{d:%Y%m%d}"


def uncovered(wanted: Sequence[tuple[int, int]], existing: Sequence[Partition]) -> list[Partition]:
    """The parts of the wanted ranges that no existing partition covers, as partitions."""
    taken = sorted((p.start, p.end) for p in existing)
    out: list[Partition] = []
    for lo, hi in sorted(set(wanted)):
        cursor = lo
        for s, e in taken:
            if e <= cursor or s >= hi:
                continue
            if s > cursor:
                out.append(Partition(cursor, s, partition_name(cursor)))
            cursor = max(cursor, e)
            if cursor >= hi:
                break
        if cursor < hi:
            out.append(Partition(cursor, hi, partition_name(cursor)))
    # Two wanted ranges can overlap only if the same piece came up twice.
    return sorted(set(out))


def retention_cut(now: int, retention_days: int) -> int | None:
    """Trades before this time are past the retention; None keeps everything."""
    return now - retention_days * DAY_US if retention_days > 0 else None


# ------------------------------------------------------------------ catalog


async def is_partitioned(conn: AsyncConnection) -> bool:
    """Whether `trades` is a partitioned table (PostgreSQL after migration 0003)."""
    if conn.dialect.name != "postgresql":
        return False
    kind = await conn.scalar(
        text("SELECT relkind::text FROM pg_class WHERE oid = to_regclass(:t)"), {"t": TABLE}
    )
    return bool(kind == "p")


async def list_partitions(conn: AsyncConnection) -> tuple[list[Partition], str | None]:
    """The range partitions of `trades` by start, and the default partition's name."""
    rows = await conn.execute(
        text(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(:t)"
        ),
        {"t": TABLE},
    )
    parts: list[Partition] = []
    default: str | None = None
    for name, bound in rows:
        if bound == "DEFAULT":
            default = name
            continue
        m = _BOUND.fullmatch(bound)
        if m is None:
            raise ValueError(f"unexpected bound of partition {name}: {bound}")
        parts.append(Partition(_bound_value(m["lo"]), _bound_value(m["hi"]), name))
    return sorted(parts), default


def _bound_value(text_value: str) -> int:
    value = text_value.strip().strip("'")
    if value == "MINVALUE":
        return _MIN
    if value == "MAXVALUE":
        return _MAX
    return int(value)


async def _default_periods(
    conn: AsyncConnection, default: str, interval: PartitionInterval
) -> set[tuple[int, int]]:
    """The periods that hold rows in the default partition (a scan of the default
    partition, which is empty or small when maintenance runs)."""
    days = await conn.scalars(
        text(f"SELECT DISTINCT ts - ((ts % :d) + :d) % :d FROM {_q(default)}"),  # noqa: S608
        {"d": DAY_US},
    )
    starts = {period_start(int(d), interval) for d in days}
    return {(s, next_period(s, interval)) for s in starts}


# ------------------------------------------------------------------ maintenance


async def maintain(
    engine: AsyncEngine, storage: StorageSettings, *, now: int | None = None
) -> MaintenanceReport:
    """One maintenance pass: retention first, then the partitions ahead and the periods
    that have rows in the default partition. A no-op on SQLite."""
    report = MaintenanceReport()
    if engine.dialect.name != "postgresql":
        return report
    now = now_us() if now is None else now
    async with UnitOfWork(engine) as tx:
        if not await is_partitioned(tx.conn):
            log.warning("trades is not partitioned (migration 0003 not applied?): skipped")
            return report
    cut = retention_cut(now, storage.retention_days)
    interval = storage.partition_interval
    if cut is not None:
        await drop_expired(engine, interval=interval, cut=cut, report=report)
    await ensure_partitions(
        engine,
        interval=interval,
        ahead=storage.partition_ahead,
        now=now,
        cut=cut,
        report=report,
    )
    return report


async def ensure_partitions(
    engine: AsyncEngine,
    *,
    interval: PartitionInterval,
    ahead: int,
    now: int,
    cut: int | None = None,
    report: MaintenanceReport | None = None,
) -> MaintenanceReport:
    """Partitions for the current period and the `ahead` next ones, and for every period
    holding rows in the default partition (except periods wholly before `cut`); rows of the
    default partition in a new partition's range move into it."""
    report = MaintenanceReport() if report is None else report

    async def plan(conn: AsyncConnection) -> tuple[list[Partition], str | None]:
        existing, default = await list_partitions(conn)
        wanted = set(periods(now, ahead + 1, interval))
        if default is not None:
            wanted |= {
                p
                for p in await _default_periods(conn, default, interval)
                if cut is None or p[1] > cut
            }
        return uncovered(sorted(wanted), existing), default

    async with UnitOfWork(engine) as tx:
        todo, _ = await plan(tx.conn)
    if not todo:
        return report
    async with UnitOfWork(engine) as tx:
        conn = tx.conn
        await _lock(conn)
        # Again under the lock: another maintainer may have done it meanwhile.
        todo, default = await plan(conn)
        if not todo:
            return report
        in_ranges = " OR ".join(f"(ts >= :s{i} AND ts < :e{i})" for i in range(len(todo)))
        bounds = {
            k: v for i, p in enumerate(todo) for k, v in ((f"s{i}", p.start), (f"e{i}", p.end))
        }
        moving = default is not None and bool(
            await conn.scalar(
                text(f"SELECT EXISTS (SELECT 1 FROM {_q(default)} WHERE {in_ranges})"),  # noqa: S608
                bounds,
            )
        )
        # PostgreSQL refuses a new partition while the default partition holds rows of its
        # range. So the default partition steps aside, the new partitions are created, its
        # rows of their ranges move into them, and it comes back (ATTACH checks that it
        # holds no row that belongs to a named partition).
        if default is not None and moving:
            await conn.execute(text(f"ALTER TABLE {TABLE} DETACH PARTITION {_q(default)}"))
        for p in todo:
            await conn.execute(
                text(
                    f"CREATE TABLE {_q(p.name)} PARTITION OF {TABLE} "
                    f"FOR VALUES FROM ({_sql_bound(p.start)}) TO ({_sql_bound(p.end)})"
                )
            )
        if default is not None and moving:
            moved = await conn.execute(
                text(
                    f"WITH moved AS (DELETE FROM {_q(default)} WHERE {in_ranges} "  # noqa: S608
                    f"RETURNING {_COLUMNS}) INSERT INTO {TABLE} ({_COLUMNS}) "
                    f"SELECT {_COLUMNS} FROM moved"
                ),
                bounds,
            )
            report.moved_rows += moved.rowcount
            await conn.execute(text(f"ALTER TABLE {TABLE} ATTACH PARTITION {_q(default)} DEFAULT"))
        await tx.commit()
    report.created += [p.name for p in todo]
    log.info(
        "trades partitions created: %s (%d rows moved in from the default partition)",
        ", ".join(p.name for p in todo),
        report.moved_rows,
    )
    return report


async def drop_expired(
    engine: AsyncEngine,
    *,
    interval: PartitionInterval,
    cut: int,
    report: MaintenanceReport | None = None,
) -> MaintenanceReport:
    """Drop the partitions that end at or before `cut`, and delete the default partition's
    rows of periods that ended before `cut`. Only trades: candles and coverage stay."""
    report = MaintenanceReport() if report is None else report
    async with UnitOfWork(engine) as tx:
        existing, default = await list_partitions(tx.conn)
    expired: list[Partition] = []
    async with UnitOfWork(engine) as tx:
        conn = tx.conn
        if any(p.end <= cut for p in existing):
            await _lock(conn)
            existing, default = await list_partitions(conn)
            expired = [p for p in existing if p.end <= cut]
            for p in expired:
                await conn.execute(text(f"DROP TABLE {_q(p.name)}"))
        if default is not None:
            deleted = await conn.execute(
                text(f"DELETE FROM {_q(default)} WHERE ts < :before"),  # noqa: S608
                {"before": period_start(cut, interval)},
            )
            report.deleted_rows += deleted.rowcount
        await tx.commit()
    report.dropped += [p.name for p in expired]
    if expired or report.deleted_rows:
        log.info(
            "retention: dropped trades partitions %s and %d default-partition rows",
            ", ".join(p.name for p in expired) or "none",
            report.deleted_rows,
        )
    return report


async def _lock(conn: AsyncConnection) -> None:
    await conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
    await conn.execute(text(f"LOCK TABLE {TABLE} IN ACCESS EXCLUSIVE MODE"))


def _q(name: str) -> str:
    """A quoted identifier (the names come from the catalog or from `partition_name`)."""
    return '"' + name.replace('"', '""') + '"'


def _sql_bound(value: int) -> str:
    if value <= _MIN:
        return "MINVALUE"
    if value >= _MAX:
        return "MAXVALUE"
    return str(int(value))


async def maintain_partitions_forever(
    engine: AsyncEngine, settings: Settings, every_s: float
) -> None:
    """Run `maintain` now and then every `every_s` seconds until cancelled; a failed pass
    (e.g. the table lock not granted in time) is logged and retried at the next one.
    Returns at once on SQLite."""
    if engine.dialect.name != "postgresql":
        return
    while True:
        try:
            await maintain(engine, settings.storage)
        except Exception:
            log.exception("trades partition maintenance failed; retrying in %.0f s", every_s)
        await asyncio.sleep(every_s)
