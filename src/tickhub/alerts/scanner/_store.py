"""The scanner's queries on the alerts tables (SQLAlchemy Core), and its unit of work.
`ScannerStore` never commits: the scanner's `ScannerUnitOfWork` does, once per chunk of
(instrument, interval) groups.

Claiming is a compare-and-set on `strategy_marks.evaluated_through`: the scanner reads a
mark, evaluates the candles after it, then moves it forward only where it still holds
the value read (`… WHERE evaluated_through = :seen RETURNING strategy_id`). A second
scanner that got there first has moved it, so the row is not returned and its candles
are not alerted twice; on PostgreSQL the second UPDATE waits on the row lock, then finds
the new value and claims nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import String, Table, bindparam, insert, select, type_coerce, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from tickhub.alerts.models import AlertDelivery, AlertRow, Strategy, StrategyMark
from tickhub.db import UnitOfWork
from tickhub.marketdata import service as marketdata
from tickhub.sessions import service as sessions

strategies_t: Table = Strategy.__table__  # type: ignore[assignment]
marks_t: Table = StrategyMark.__table__  # type: ignore[assignment]
alerts_t: Table = AlertRow.__table__  # type: ignore[assignment]
deliveries_t: Table = AlertDelivery.__table__  # type: ignore[assignment]

# Bound parameters per statement stay well under SQLite's and asyncpg's limits.
CHUNK = 2_000

_T = TypeVar("_T")
MarkKey = tuple[int, str, str]  # (strategy id, exchange, symbol)


@dataclass(frozen=True, slots=True)
class StrategyRow:
    id: int
    user_id: str
    name: str
    instruments: tuple[str, ...]  # "exchange:SYMBOL"
    interval: str
    interval_s: int
    condition: str
    cooldown_s: int
    channels: tuple[dict[str, Any], ...]
    # paper trading: (session id, side, amount) booked on each alert, or None
    paper: tuple[int, str, Decimal] | None = None


@dataclass(frozen=True, slots=True)
class Mark:
    evaluated_through: int
    last_alert_close: int | None


@dataclass(frozen=True, slots=True)
class NewAlert:
    strategy: StrategyRow
    exchange: str
    symbol: str
    candle_start: int
    candle_close: int
    values: dict[str, float | None]
    close: float
    raised_at: datetime


_m = marks_t.c
_MARKS = select(_m.strategy_id, _m.evaluated_through, _m.last_alert_close).where(
    _m.exchange == bindparam("p_exchange"),
    _m.symbol == bindparam("p_symbol"),
    _m.strategy_id.in_(bindparam("p_ids", expanding=True)),
)
_CLAIM = (
    update(marks_t)
    .where(
        _m.exchange == bindparam("p_exchange"),
        _m.symbol == bindparam("p_symbol"),
        _m.strategy_id.in_(bindparam("p_ids", expanding=True)),
        _m.evaluated_through == bindparam("p_seen"),
    )
    .values(evaluated_through=bindparam("p_through"))
    .returning(_m.strategy_id)
)

_LAST_ALERT = (
    update(marks_t)
    .where(
        _m.exchange == bindparam("p_exchange"),
        _m.symbol == bindparam("p_symbol"),
        _m.strategy_id == bindparam("p_id"),
    )
    .values(last_alert_close=bindparam("p_close"))
)


def chunks(items: Sequence[_T], size: int = CHUNK) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def delivery_target(channel: dict[str, Any]) -> tuple[str, str] | None:
    """(channel, target) of a notification channel; never its secret. None if unknown."""
    kind = channel.get("type")
    key = {"webhook": "url", "telegram": "chat_id", "email": "to", "apprise": "id"}.get(str(kind))
    if key is None or channel.get(key) in (None, ""):
        return None
    return str(kind), str(channel[key])


class ScannerStore:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def active_versions(self) -> dict[int, object]:
        """Every active strategy's id and a token that changes whenever it is edited (its
        `updated_at`, as stored)."""
        s = strategies_t.c
        rows = await self.conn.execute(
            select(s.id, type_coerce(s.updated_at, String)).where(s.active.is_(True))
        )
        return {int(r[0]): r[1] for r in rows}

    async def strategies(self, ids: Sequence[int]) -> list[StrategyRow]:
        """The strategies with these ids (those that still exist)."""
        s = strategies_t.c
        out: list[StrategyRow] = []
        for part in chunks(ids):
            rows = await self.conn.execute(
                select(s.id, s.user_id, s.name, s.instruments, s.interval, s.interval_s,
                       s.condition, s.cooldown_s, s.channels, s.paper_session_id,
                       s.paper_side, s.paper_amount)
                .where(s.id.in_(list(part)))
            )  # fmt: skip
            out.extend(
                StrategyRow(
                    int(r[0]),
                    r[1],
                    r[2],
                    tuple(r[3] or ()),
                    r[4],
                    int(r[5]),
                    r[6],
                    int(r[7] or 0),
                    tuple(c for c in (r[8] or ()) if isinstance(c, dict)),
                    None if None in (r[9], r[10], r[11]) else (int(r[9]), r[10], r[11]),
                )
                for r in rows
            )
        return out

    async def marks(
        self, strategy_ids: Sequence[int], exchange: str, symbol: str
    ) -> dict[int, Mark]:
        out: dict[int, Mark] = {}
        for part in chunks(strategy_ids):
            rows = await self.conn.execute(
                _MARKS, {"p_exchange": exchange, "p_symbol": symbol, "p_ids": list(part)}
            )
            for sid, through, last in rows:
                out[int(sid)] = Mark(int(through), None if last is None else int(last))
        return out

    async def seed_marks(self, marks: Sequence[tuple[int, str, str, int]]) -> None:
        """Marks (strategy, exchange, symbol, evaluated through) for strategies seen there
        for the first time; existing ones are kept."""
        for part in chunks(marks):
            values = [
                {"strategy_id": sid, "exchange": exchange, "symbol": symbol,
                 "evaluated_through": through, "last_alert_close": None}
                for sid, exchange, symbol, through in part
            ]  # fmt: skip
            stmt = _insert(self.conn, marks_t).on_conflict_do_nothing(
                index_elements=["strategy_id", "exchange", "symbol"]
            )
            await self.conn.execute(stmt, values)

    async def claim(
        self,
        strategy_ids: Sequence[int],
        exchange: str,
        symbol: str,
        *,
        seen: int,
        through: int,
        last_alerts: dict[MarkKey, int],
    ) -> set[int]:
        """Move the marks of these strategies on this instrument that still read `seen`
        to `through` (and record the close of each one's latest alert in `last_alerts`);
        the strategy ids claimed."""
        claimed: set[int] = set()
        for part in chunks(strategy_ids):
            params = {"p_exchange": exchange, "p_symbol": symbol, "p_ids": list(part),
                      "p_seen": seen, "p_through": through}  # fmt: skip
            claimed.update(int(r[0]) for r in await self.conn.execute(_CLAIM, params))
        alerting = [
            {"p_exchange": exchange, "p_symbol": symbol, "p_id": sid, "p_close": close}
            for sid in claimed
            if (close := last_alerts.get((sid, exchange, symbol))) is not None
        ]
        if alerting:
            await self.conn.execute(_LAST_ALERT, alerting)
        return claimed

    async def insert_alerts(self, alerts: Sequence[NewAlert]) -> list[int]:
        """Store the alerts and one pending delivery per channel; their ids, in order."""
        if not alerts:
            return []
        rows = [
            {
                "user_id": a.strategy.user_id,
                "strategy_id": a.strategy.id,
                "strategy_name": a.strategy.name,
                "exchange": a.exchange,
                "symbol": a.symbol,
                "interval": a.strategy.interval,
                "candle_start": a.candle_start,
                "candle_close": a.candle_close,
                "condition": a.strategy.condition,
                "values": a.values,
                "close": a.close,
                "raised_at": a.raised_at,
            }
            for a in alerts
        ]
        # Rows come back in any order (asking for the order makes SQLite insert them one
        # at a time); each is matched by its unique key instead.
        a = alerts_t.c
        stmt = insert(alerts_t).returning(a.id, a.strategy_id, a.exchange, a.symbol, a.candle_start)
        by_key: dict[tuple[int, str, str, int], int] = {}
        for part in chunks(rows, 500):
            for r in await self.conn.execute(stmt, part):
                by_key[(int(r[1]), r[2], r[3], int(r[4]))] = int(r[0])
        ids = [by_key[(x.strategy.id, x.exchange, x.symbol, x.candle_start)] for x in alerts]
        deliveries = list(_deliveries(alerts, ids))
        for dpart in chunks(deliveries, 500):
            await self.conn.execute(insert(deliveries_t), dpart)
        return ids


class ScannerUnitOfWork(UnitOfWork):
    """One transaction of the scanner: its marks, strategies and alerts (`store`), the
    candles and instruments it reads on the same connection (`market`, through the
    market-data service) and the paper-trading sessions it books alerts into (`paper`,
    through the sessions service), so an alert and its transaction commit together."""

    store: ScannerStore
    market: marketdata.MarketReads
    paper: sessions.PaperLedger

    def _open(self, conn: AsyncConnection) -> None:
        self.store = ScannerStore(conn)
        self.market = marketdata.reads_on(conn)
        self.paper = sessions.paper_ledger_on(conn)


def _deliveries(alerts: Sequence[NewAlert], ids: Iterable[int]) -> Iterator[dict[str, Any]]:
    for alert, alert_id in zip(alerts, ids, strict=True):
        for channel in alert.strategy.channels:
            found = delivery_target(channel)
            if found is None:
                continue
            kind, target = found
            yield {
                "alert_id": alert_id,
                "channel": kind,
                "target": target[:512],
                "status": "pending",
                "attempts": 0,
                "last_error": None,
                "response_status": None,
                "created_at": alert.raised_at,
                "next_attempt_at": alert.raised_at,
                "delivered_at": None,
            }


def _insert(conn: AsyncConnection, table: Table) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
