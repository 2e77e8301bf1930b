"""The writer's hot statements, compiled once per dialect to the driver's SQL: every
batch runs them, so they skip SQLAlchemy's per-call cache key and compiled-cache lookup
(`exec_driver_sql` with the rows as positional tuples)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Dialect, and_, bindparam, case, delete, func, or_, update

from tickhub.marketdata.store.repository._tables import (
    candles_t,
    coverage_t,
    dialect_insert,
    instruments_t,
    latest_t,
)


@cache
def _merge_candles_stmt(dialect: str) -> Any:
    """INSERT … ON CONFLICT DO UPDATE that folds a candle delta into the stored candle.

    Built once per dialect: the writer runs it for every batch.
    """
    greatest, least = (
        (func.greatest, func.least) if dialect == "postgresql" else (func.max, func.min)
    )
    ins = dialect_insert(dialect, candles_t)
    ex, cur = ins.excluded, candles_t.c
    earlier = or_(
        ex.open_ts < cur.open_ts, and_(ex.open_ts == cur.open_ts, ex.open_id < cur.open_id)
    )
    later = or_(
        ex.close_ts > cur.close_ts, and_(ex.close_ts == cur.close_ts, ex.close_id > cur.close_id)
    )
    return ins.on_conflict_do_update(
        index_elements=["instrument_id", "resolution", "start"],
        set_={
            "open": case((earlier, ex.open), else_=cur.open),
            "open_ts": case((earlier, ex.open_ts), else_=cur.open_ts),
            "open_id": case((earlier, ex.open_id), else_=cur.open_id),
            "close": case((later, ex.close), else_=cur.close),
            "close_ts": case((later, ex.close_ts), else_=cur.close_ts),
            "close_id": case((later, ex.close_id), else_=cur.close_id),
            "high": greatest(cur.high, ex.high),
            "low": least(cur.low, ex.low),
            "volume": cur.volume + ex.volume,
            "quote_volume": cur.quote_volume + ex.quote_volume,
            "trade_count": cur.trade_count + ex.trade_count,
            "price_sum": cur.price_sum + ex.price_sum,
            "price_m2": case(
                (cur.trade_count == 0, ex.price_m2),
                else_=cur.price_m2
                + ex.price_m2
                + (ex.price_sum / ex.trade_count - cur.price_sum / cur.trade_count)
                * (ex.price_sum / ex.trade_count - cur.price_sum / cur.trade_count)
                * cur.trade_count
                * ex.trade_count
                / (cur.trade_count + ex.trade_count),
            ),
        },
    )


@cache
def _upsert_latest_stmt(dialect: str) -> Any:
    ins = dialect_insert(dialect, latest_t)
    ex, cur = ins.excluded, latest_t.c
    return ins.on_conflict_do_update(
        index_elements=["instrument_id"],
        set_={"trade_id": ex.trade_id, "ts": ex.ts, "price": ex.price, "qty": ex.qty},
        where=or_(ex.ts > cur.ts, and_(ex.ts == cur.ts, ex.trade_id > cur.trade_id)),
    )


@dataclass(frozen=True, slots=True)
class _Hot:
    """A statement compiled once to the driver's SQL, run with `exec_driver_sql`: the
    writer's per-batch statements skip SQLAlchemy's per-call cache key and compile
    lookup. `names` orders a row's values as the SQL's positional parameters; `fixed`
    holds the values of the statement's own constants."""

    sql: str
    names: tuple[str, ...]
    fixed: Mapping[str, Any]

    def args(self, row: Mapping[str, Any]) -> tuple[Any, ...]:
        fixed = self.fixed
        return tuple(row[n] if n in row else fixed[n] for n in self.names)


def _hot(stmt: Any, dialect: Dialect) -> _Hot:
    compiled = stmt.compile(dialect=dialect)
    names = tuple(compiled.positiontup or ())
    return _Hot(str(compiled), names, dict(compiled.params))


@cache
def hot_statements(dialect: Dialect) -> dict[str, _Hot]:
    """The writer's hot statements for `dialect`, compiled once per process."""
    c = coverage_t.c
    return {
        "merge_candles": _hot(_merge_candles_stmt(dialect.name), dialect),
        "upsert_latest": _hot(_upsert_latest_stmt(dialect.name), dialect),
        # one row each, in id order: PostgreSQL row locks taken in one order everywhere
        "lock": _hot(
            update(instruments_t)
            .where(instruments_t.c.id == bindparam("id"))
            .values(symbol=instruments_t.c.symbol),
            dialect,
        ),
        "insert_coverage": _hot(
            coverage_t.insert()
            .inline()
            .values(
                {
                    n: bindparam(n)
                    for n in ("instrument_id", "first_id", "last_id", "first_ts", "last_ts")
                }
            ),
            dialect,
        ),
        "delete_coverage": _hot(delete(coverage_t).where(c.id == bindparam("id")), dialect),
    }


CANDLE_COLUMNS = tuple(
    candles_t.c[name]
    for name in (
        "start", "open", "high", "low", "close", "volume", "quote_volume", "trade_count",
        "open_ts", "open_id", "close_ts", "close_id", "price_sum", "price_m2",
    )
)  # fmt: skip
