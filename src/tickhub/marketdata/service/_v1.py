"""Reads behind the `/v1` API and the live stream: times, cursors, prices, snapshot."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tickhub.common import errors as kinds
from tickhub.common.time import datetime_to_us
from tickhub.marketdata.events import Trade
from tickhub.marketdata.ingest.normalize import compact_symbol
from tickhub.marketdata.service._core import (
    InvalidParameter,
    MarketDataError,
    UnknownInstrument,
    candle_table,
    candles,
    instruments,
    max_buckets,
    resolve_instrument,
)
from tickhub.marketdata.service._ports import MarketReads, RollupSource
from tickhub.marketdata.store.candles import (
    DAY,
    HOUR,
    MINUTE,
    Candle,
    Interval,
    boundaries,
    fold,
)
from tickhub.marketdata.store.columns import CandleTable
from tickhub.marketdata.store.repository import InstrumentInfo, Latest

MAX_TIME = datetime_to_us(datetime(3000, 1, 1, tzinfo=UTC))
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_INT64 = 2**63


class UnknownExchange(MarketDataError, kinds.NotFound):
    """No exchange of that name."""


@dataclass(frozen=True, slots=True)
class ExchangeInfo:
    name: str
    country: str | None
    simulated: bool


_EPOCH_MS = re.compile(r"^(\d{1,15})(?:\.(\d{1,3}))?$")
# A `+` sent unencoded in a query string arrives as a space: `2026-01-01T10:00:00 01:00`.
_SPACED_OFFSET = re.compile(r"(\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?) (\d{2}(?::?\d{2})?)$")


def parse_time(value: str, field: str) -> int:
    """A point in time, given as ISO-8601 (without an offset it is UTC) or as epoch
    milliseconds, in microseconds since the epoch. Accepts 1970-01-01 up to 3000-01-01."""
    text = value.strip()
    if m := _EPOCH_MS.match(text):
        us = int(m.group(1)) * 1000 + int((m.group(2) or "").ljust(3, "0"))
    else:
        try:
            us = datetime_to_us(datetime.fromisoformat(_SPACED_OFFSET.sub(r"\1+\2", text)))
        except (ValueError, OverflowError) as exc:
            raise InvalidParameter(
                f"invalid {field} {value!r}: use ISO-8601 such as 2026-11-23T15:34:07Z "
                "(no offset means UTC) or epoch milliseconds",
                field=field,
            ) from exc
    if not 0 <= us < MAX_TIME:
        raise InvalidParameter(f"{field} must lie between 1970-01-01 and 3000-01-01", field=field)
    return us


def encode_cursor(ts: int, trade_id: int) -> str:
    """An opaque keyset cursor: the (time, id) of the last trade of a page."""
    return base64.urlsafe_b64encode(f"{ts}:{trade_id}".encode()).decode().rstrip("=")


_CURSOR = re.compile(r"^(\d{1,19}):(\d{1,19})$")


def decode_cursor(cursor: str) -> tuple[int, int]:
    bad = InvalidParameter(
        "invalid cursor: pass the next_cursor of a previous page unchanged", field="cursor"
    )
    try:
        raw = base64.b64decode(
            cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True
        ).decode("ascii")
    except (binascii.Error, ValueError) as exc:
        raise bad from exc
    m = _CURSOR.match(raw)
    if m is None:
        raise bad
    ts, trade_id = int(m.group(1)), int(m.group(2))
    if ts >= _INT64 or trade_id >= _INT64:
        raise bad
    return ts, trade_id


async def exchanges(tx: MarketReads) -> list[ExchangeInfo]:
    return [ExchangeInfo(*row) for row in await tx.reads.exchanges()]


async def resolve_exchange(tx: MarketReads, name: str) -> str:
    """The stored spelling of an exchange name (case does not matter)."""
    names = [e.name for e in await exchanges(tx)]
    wanted = name.strip().lower()
    for n in names:
        if n.lower() == wanted:
            return n
    known = ", ".join(names) or "none yet"
    raise UnknownExchange(f"unknown exchange {name!r} (known: {known})", field="exchange")


async def find_instrument(
    tx: MarketReads, symbol: str, exchange: str | None = None
) -> InstrumentInfo:
    """`resolve_instrument`, with an unknown exchange reported against `exchange`."""
    name = await resolve_exchange(tx, exchange) if exchange else None
    return await resolve_instrument(tx, symbol, name)


async def exchange_instruments(
    tx: MarketReads, exchange: str | None = None
) -> list[InstrumentInfo]:
    name = await resolve_exchange(tx, exchange) if exchange else None
    return await instruments(tx, name)


async def prices(
    tx: MarketReads, *, exchange: str | None = None, symbol: str | None = None
) -> list[Latest]:
    """Latest prices, optionally of one exchange and/or one symbol (either spelling)."""
    if not exchange and not symbol:
        return await tx.reads.latest()
    listed = await exchange_instruments(tx, exchange)
    if symbol:
        wanted = compact_symbol(symbol)
        if not wanted:
            raise InvalidParameter("symbol is empty", field="symbol")
        listed = [
            i
            for i in listed
            if compact_symbol(i.symbol) == wanted or compact_symbol(i.base + i.quote) == wanted
        ]
        if not listed:
            where = f" on exchange {exchange!r}" if exchange else ""
            raise UnknownInstrument(f"unknown instrument {symbol!r}{where}", field="symbol")
    return await tx.reads.latest([i.id for i in listed])


class PriceIndex:
    """Latest prices by symbol (either spelling), for answering from memory with the
    choice `find_instrument` makes: the exchange by name in any case; without one, a live
    venue before the simulated one."""

    __slots__ = ("_by_key", "all")

    def __init__(self, entries: list[tuple[InstrumentInfo, Latest | None]]) -> None:
        self.all = sorted(
            (lp for _, lp in entries if lp is not None),
            key=lambda lp: (lp.instrument.exchange, lp.instrument.symbol),
        )
        by_key: dict[str, list[tuple[InstrumentInfo, Latest | None]]] = {}
        for inst, lp in entries:
            for key in {compact_symbol(inst.symbol), compact_symbol(inst.base + inst.quote)}:
                by_key.setdefault(key, []).append((inst, lp))
        for found in by_key.values():
            found.sort(key=lambda e: (e[0].simulated, e[0].exchange))
        self._by_key = by_key

    @classmethod
    def of(cls, entries: Iterable[tuple[InstrumentInfo, Latest | None]]) -> PriceIndex:
        return cls(list(entries))

    def find(self, symbol: str, exchange: str | None = None) -> Latest | None:
        """The latest trade of the instrument `find_instrument` would choose; None when
        that instrument is unknown here or has no trade (the caller asks the database,
        which also words the error)."""
        found = self._by_key.get(compact_symbol(symbol))
        if not found:
            return None
        if exchange is not None:
            venue = exchange.strip().lower()
            found = [e for e in found if e[0].exchange.lower() == venue]
            if not found:
                return None
        return found[0][1]


async def price(tx: MarketReads, exchange: str, symbol: str) -> Latest:
    inst = await find_instrument(tx, symbol, exchange)
    found = await tx.reads.latest([inst.id])
    if not found:
        raise UnknownInstrument(f"no trade of {inst.exchange}:{inst.symbol} yet", field="symbol")
    return found[0]


@dataclass(frozen=True, slots=True)
class TradePage:
    items: list[Trade]
    next_cursor: str | None


async def trades_page(
    tx: MarketReads,
    inst: InstrumentInfo,
    *,
    start: int | None,
    end: int | None,
    limit: int,
    cursor: str | None = None,
) -> TradePage:
    """Trades with start <= time < end, oldest first, `limit` at a time. `next_cursor` is
    None on the last page."""
    if start is not None and end is not None and start > end:
        raise InvalidParameter("start must not be after end", field="start")
    after = decode_cursor(cursor) if cursor else None
    rows = await tx.reads.trades(
        inst.id, start, None if end is None else end - 1, after=after, limit=limit + 1
    )
    items = rows[:limit]
    more = len(rows) > limit
    return TradePage(items, encode_cursor(items[-1].ts, items[-1].trade_id) if more else None)


def _bucket_point(edge: int, interval: Interval, n: int, tz: ZoneInfo | None) -> int:
    """A time inside the bucket `n` buckets after (before, when negative) the bucket that
    starts at `edge`."""
    fixed = interval.fixed_us
    if fixed is not None and (fixed < DAY or fixed % DAY):
        return edge + n * fixed
    zone = tz or ZoneInfo("UTC")
    local = (_EPOCH + timedelta(microseconds=edge)).astimezone(zone).replace(tzinfo=None)
    if interval.unit == "M":
        y, m = divmod(local.year * 12 + local.month - 1 + n * interval.count, 12)
        local = local.replace(year=y, month=m + 1, day=15)
    else:
        days = n * interval.count * (7 if interval.unit == "w" else 1)
        local += timedelta(days=days, hours=12)
    return datetime_to_us(local.replace(tzinfo=zone))


async def candle_series(
    tx: MarketReads,
    inst: InstrumentInfo,
    interval: Interval,
    *,
    start: int | None,
    end: int | None,
    limit: int,
    now: int,
    tz: ZoneInfo | None = None,
) -> list[Candle]:
    """At most `limit` candles. With `start`: the oldest from `start` on (up to `end` when
    given); without: the newest up to `end` (default `now`). When only one end is given,
    `limit` is lowered to what one request may read (`max_buckets`)."""
    w = series_window(interval, start=start, end=end, limit=limit, now=now, tz=tz)
    found = await candles(tx, inst, interval, w.start, w.end, tz)
    return found[-w.limit :] if w.newest else found[: w.limit]


async def candle_series_table(
    tx: MarketReads,
    inst: InstrumentInfo,
    interval: Interval,
    *,
    start: int | None,
    end: int | None,
    limit: int,
    now: int,
    tz: ZoneInfo | None = None,
    memory: RollupSource | None = None,
) -> CandleTable:
    """`candle_series` as columns (the candle route's read); `memory` holds rollups
    read before."""
    w = series_window(interval, start=start, end=end, limit=limit, now=now, tz=tz)
    found = await candle_table(tx, inst, interval, w.start, w.end, tz, memory)
    return found.take(slice(-w.limit, None) if w.newest else slice(None, w.limit))


@dataclass(frozen=True, slots=True)
class SeriesWindow:
    """What a candle series reads: [start, end), and which `limit` candles it keeps."""

    start: int
    end: int
    limit: int
    newest: bool  # keep the newest `limit` (else the oldest)


def series_window(
    interval: Interval,
    *,
    start: int | None,
    end: int | None,
    limit: int,
    now: int,
    tz: ZoneInfo | None = None,
) -> SeriesWindow:
    if start is None or end is None:
        limit = min(limit, max_buckets(interval, tz))
    if start is None:
        end = now if end is None else end
        last = boundaries(end - 1, end, interval, tz)[0]
        return SeriesWindow(_bucket_point(last, interval, -(limit - 1), tz), end, limit, True)
    if end is None:
        first = boundaries(start, start + 1, interval, tz)[0]
        end = max(_bucket_point(first, interval, limit - 1, tz) + 1, start + 1)
    return SeriesWindow(start, end, limit, False)


def series_span(interval: Interval, w: SeriesWindow, tz: ZoneInfo | None = None) -> tuple[int, int]:
    """[first bucket start, last bucket end) of what a series over `w` reads."""
    return (
        boundaries(w.start, w.start + 1, interval, tz)[0],
        boundaries(w.end - 1, w.end, interval, tz)[-1],
    )


@dataclass(frozen=True, slots=True)
class SnapshotEntry:
    instrument: InstrumentInfo
    latest: Latest | None
    day: Candle | None  # the trades of the window folded into one candle; None if none


@dataclass(frozen=True, slots=True)
class Snapshot:
    generated_at: int
    start: int
    end: int
    entries: list[SnapshotEntry]


def snapshot_window(now: int) -> tuple[int, int]:
    """The snapshot's 24 hours at `now`: [start, end), `end` the close of the current
    minute."""
    end = now - now % MINUTE + MINUTE
    return end - DAY, end


async def window_candle(tx: MarketReads, instrument_id: int, start: int, end: int) -> Candle | None:
    """The trades of [start, end) folded into one candle, from the stored rollups: 1 h
    candles for the whole hours of the window and 1 m candles for the ends (start and end
    on minute boundaries). None if there were none."""
    first_hour = start + (-start) % HOUR
    last_hour = end - end % HOUR
    repo = tx.reads
    parts = [
        *await repo.candles(instrument_id, MINUTE, start, first_hour),
        *await repo.candles(instrument_id, HOUR, first_hour, last_hour),
        *await repo.candles(instrument_id, MINUTE, last_hour, end),
    ]
    day = fold(parts, [start, end])
    return day[0] if day else None
