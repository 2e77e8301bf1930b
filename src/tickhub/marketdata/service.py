"""Market-data use cases shared by REST, WebSocket, dashboard and CLI.

Reads take an open connection; the caller decides its lifetime. Errors are domain
exceptions naming the parameter at fault; the routers map them to HTTP.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from statistics import fmean, median, pstdev
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncConnection

from tickhub.marketdata import coverage as cov
from tickhub.marketdata.candles import (
    DAY,
    HOUR,
    MINUTE,
    Candle,
    Interval,
    IntervalError,
    best_rollup,
    boundaries,
    fold,
    parse_interval,
    trade_candle,
)
from tickhub.marketdata.coverage import Gap, Range
from tickhub.marketdata.events import Trade, datetime_to_us
from tickhub.marketdata.normalize import coin_name, compact_symbol
from tickhub.marketdata.repository import InstrumentInfo, Latest, MarketDataRepository

MAX_CANDLES = 10_000


class MarketDataError(Exception):
    """A request the market data cannot answer; `field` names the parameter at fault."""

    status = 400

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class UnknownInstrument(MarketDataError):
    status = 404


class InvalidParameter(MarketDataError):
    status = 400


async def resolve_instrument(
    conn: AsyncConnection, symbol: str, exchange: str | None = None
) -> InstrumentInfo:
    """Find an instrument by its exchange symbol (`BTCUSDT`) or base/quote (`BTC-USDT`).

    Without an exchange, a live venue is preferred over the simulated one.
    """
    wanted = compact_symbol(symbol)
    if not wanted:
        raise InvalidParameter("symbol", "symbol is required")
    found = [
        i
        for i in await MarketDataRepository(conn).instruments(exchange)
        if compact_symbol(i.symbol) == wanted or compact_symbol(i.base + i.quote) == wanted
    ]
    if not found:
        where = f" on exchange {exchange!r}" if exchange else ""
        raise UnknownInstrument("symbol", f"unknown instrument {symbol!r}{where}")
    found.sort(key=lambda i: (i.simulated, i.exchange))
    return found[0]


async def instruments(conn: AsyncConnection, exchange: str | None = None) -> list[InstrumentInfo]:
    return await MarketDataRepository(conn).instruments(exchange)


async def latest_prices(
    conn: AsyncConnection, instrument_ids: list[int] | None = None
) -> list[Latest]:
    return await MarketDataRepository(conn).latest(instrument_ids)


def parse_tz(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidParameter("tz", f"unknown time zone {name!r}") from exc


def interval_or_error(text: str) -> Interval:
    try:
        return parse_interval(text)
    except IntervalError as exc:
        raise InvalidParameter("interval", str(exc)) from exc


async def candles(
    conn: AsyncConnection,
    inst: InstrumentInfo,
    interval: Interval,
    start: int,
    end: int,
    tz: ZoneInfo | None = None,
) -> list[Candle]:
    """Candles whose buckets meet [start, end), oldest first; empty buckets are omitted."""
    if start >= end:
        raise InvalidParameter("start", "start must be before end")
    fixed = interval.fixed_us
    if fixed is not None and (end - start) // fixed > MAX_CANDLES:
        raise InvalidParameter(
            "interval", f"more than {MAX_CANDLES} candles: narrow start/end or widen the interval"
        )
    edges = boundaries(start, end, interval, tz)
    if len(edges) > MAX_CANDLES + 1:
        raise InvalidParameter("interval", f"more than {MAX_CANDLES} candles")
    repo = MarketDataRepository(conn)
    res = best_rollup(edges)
    if res is not None:
        source = await repo.candles(inst.id, res, edges[0], edges[-1])
        return fold(source, edges)
    trades = await repo.trades(inst.id, edges[0], edges[-1] - 1)
    return fold((trade_candle(t) for t in trades), edges)


@dataclass(frozen=True, slots=True)
class Statistics:
    count: int
    open: float | None
    close: float | None
    high: float | None
    low: float | None
    mean: float | None
    median: float | None
    std: float | None
    vwap: float | None
    volume: float
    quote_volume: float
    change_pct: float | None


async def statistics(
    conn: AsyncConnection, inst: InstrumentInfo, start: int, end: int
) -> Statistics:
    """Statistics of the stored trades with start <= time <= end (population std)."""
    if start > end:
        raise InvalidParameter("start", "start must not be after end")
    s = await MarketDataRepository(conn).trade_stats(inst.id, start, end)
    count = int(s["count"] or 0)
    if count == 0:
        return Statistics(0, None, None, None, None, None, None, None, None, 0.0, 0.0, None)
    first, last = float(s["open"] or 0), float(s["close"] or 0)
    volume, quote_volume = float(s["volume"] or 0), float(s["quote_volume"] or 0)
    return Statistics(
        count=count,
        open=first,
        close=last,
        high=float(s["high"] or 0),
        low=float(s["low"] or 0),
        mean=float(s["mean"] or 0),
        median=float(s["median"] or 0),
        std=math.sqrt(max(float(s["variance"] or 0), 0.0)),
        vwap=quote_volume / volume if volume else None,
        volume=volume,
        quote_volume=quote_volume,
        change_pct=(last - first) / first * 100 if first else 0.0,
    )


async def coverage(conn: AsyncConnection, inst: InstrumentInfo) -> tuple[list[Range], list[Gap]]:
    ranges = await MarketDataRepository(conn).coverage(inst.id)
    return ranges, cov.gaps(ranges)


# ==========================================================================================
# /v1 API reads: used by marketdata/router.py and marketdata/live.py.
# (The seed-compatible reads follow this block.)
# ==========================================================================================

MAX_TIME = datetime_to_us(datetime(3000, 1, 1, tzinfo=UTC))
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_INT64 = 2**63


class UnknownExchange(MarketDataError):
    status = 404


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
                field,
                f"invalid {field} {value!r}: use ISO-8601 such as 2026-11-23T15:34:07Z "
                "(no offset means UTC) or epoch milliseconds",
            ) from exc
    if not 0 <= us < MAX_TIME:
        raise InvalidParameter(field, f"{field} must lie between 1970-01-01 and 3000-01-01")
    return us


def encode_cursor(ts: int, trade_id: int) -> str:
    """An opaque keyset cursor: the (time, id) of the last trade of a page."""
    return base64.urlsafe_b64encode(f"{ts}:{trade_id}".encode()).decode().rstrip("=")


_CURSOR = re.compile(r"^(\d{1,19}):(\d{1,19})$")


def decode_cursor(cursor: str) -> tuple[int, int]:
    bad = InvalidParameter(
        "cursor", "invalid cursor: pass the next_cursor of a previous page unchanged"
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


async def exchanges(conn: AsyncConnection) -> list[ExchangeInfo]:
    return [ExchangeInfo(*row) for row in await MarketDataRepository(conn).exchanges()]


async def resolve_exchange(conn: AsyncConnection, name: str) -> str:
    """The stored spelling of an exchange name (case does not matter)."""
    names = [e.name for e in await exchanges(conn)]
    wanted = name.strip().lower()
    for n in names:
        if n.lower() == wanted:
            return n
    known = ", ".join(names) or "none yet"
    raise UnknownExchange("exchange", f"unknown exchange {name!r} (known: {known})")


async def find_instrument(
    conn: AsyncConnection, symbol: str, exchange: str | None = None
) -> InstrumentInfo:
    """`resolve_instrument`, with an unknown exchange reported against `exchange`."""
    name = await resolve_exchange(conn, exchange) if exchange else None
    return await resolve_instrument(conn, symbol, name)


async def exchange_instruments(
    conn: AsyncConnection, exchange: str | None = None
) -> list[InstrumentInfo]:
    name = await resolve_exchange(conn, exchange) if exchange else None
    return await instruments(conn, name)


async def prices(
    conn: AsyncConnection, *, exchange: str | None = None, symbol: str | None = None
) -> list[Latest]:
    """Latest prices, optionally of one exchange and/or one symbol (either spelling)."""
    if not exchange and not symbol:
        return await MarketDataRepository(conn).latest()
    listed = await exchange_instruments(conn, exchange)
    if symbol:
        wanted = compact_symbol(symbol)
        if not wanted:
            raise InvalidParameter("symbol", "symbol is empty")
        listed = [
            i
            for i in listed
            if compact_symbol(i.symbol) == wanted or compact_symbol(i.base + i.quote) == wanted
        ]
        if not listed:
            where = f" on exchange {exchange!r}" if exchange else ""
            raise UnknownInstrument("symbol", f"unknown instrument {symbol!r}{where}")
    return await MarketDataRepository(conn).latest([i.id for i in listed])


async def price(conn: AsyncConnection, exchange: str, symbol: str) -> Latest:
    inst = await find_instrument(conn, symbol, exchange)
    found = await MarketDataRepository(conn).latest([inst.id])
    if not found:
        raise UnknownInstrument("symbol", f"no trade of {inst.exchange}:{inst.symbol} yet")
    return found[0]


@dataclass(frozen=True, slots=True)
class TradePage:
    items: list[Trade]
    next_cursor: str | None


async def trades_page(
    conn: AsyncConnection,
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
        raise InvalidParameter("start", "start must not be after end")
    after = decode_cursor(cursor) if cursor else None
    rows = await MarketDataRepository(conn).trades(
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
    conn: AsyncConnection,
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
    given); without: the newest up to `end` (default `now`)."""
    if start is None:
        end = now if end is None else end
        last = boundaries(end - 1, end, interval, tz)[0]
        start = _bucket_point(last, interval, -(limit - 1), tz)
        return (await candles(conn, inst, interval, start, end, tz))[-limit:]
    if end is None:
        first = boundaries(start, start + 1, interval, tz)[0]
        end = _bucket_point(first, interval, limit - 1, tz) + 1
    return (await candles(conn, inst, interval, start, end, tz))[:limit]


async def window_statistics(
    conn: AsyncConnection, inst: InstrumentInfo, start: int, end: int
) -> Statistics:
    """`statistics` of the trades with start <= time < end."""
    if start > end:
        raise InvalidParameter("start", "start must not be after end")
    if start == end:
        return Statistics(0, None, None, None, None, None, None, None, None, 0.0, 0.0, None)
    return await statistics(conn, inst, start, end - 1)


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


async def snapshot(conn: AsyncConnection, now: int) -> Snapshot:
    """Every instrument's latest price and its last 24 hours, from the stored rollups: 1 h
    candles for the whole hours of the window and 1 m candles for the ends."""
    end = now - now % MINUTE + MINUTE
    start = end - DAY
    first_hour = start + (-start) % HOUR
    last_hour = end - end % HOUR
    repo = MarketDataRepository(conn)
    latest = {p.instrument.id: p for p in await repo.latest()}
    entries: list[SnapshotEntry] = []
    for inst in await repo.instruments():
        parts = [
            *await repo.candles(inst.id, MINUTE, start, first_hour),
            *await repo.candles(inst.id, HOUR, first_hour, last_hour),
            *await repo.candles(inst.id, MINUTE, last_hour, end),
        ]
        day = fold(parts, [start, end])
        entries.append(SnapshotEntry(inst, latest.get(inst.id), day[0] if day else None))
    return Snapshot(now, start, end, entries)


# ==========================================================================================
# end of the /v1 API reads
# ==========================================================================================


# ================================================================ seed-compatible reads
# Used by marketdata/legacy_router.py: the seed 001 tracker API and the seed 004
# crypto-ticker API. Keep functions for other routes above this block.

MAX_SEED_PRICES = 100_000
"""The most trades one seed 004 statistics answer lists (the seed did not paginate it)."""


@dataclass(frozen=True, slots=True)
class CoinTicker:
    ticker: str
    exchange: str
    coin: str


@dataclass(frozen=True, slots=True)
class PricePoint:
    instrument: InstrumentInfo
    trade: Trade


@dataclass(frozen=True, slots=True)
class PriceSummary:
    count: int
    mean: float
    median: float
    pstdev: float
    change_pct: float


async def coin_assets(conn: AsyncConnection) -> list[tuple[str, str]]:
    """(coin name, asset symbol) of each asset that is the base of an instrument, by name.

    Assets seen only as a quote (USDT) are left out: no ticker would match them.
    """
    repo = MarketDataRepository(conn)
    bases = {i.base.upper() for i in await repo.instruments()}
    return sorted((name, sym) for sym, name in await repo.assets() if sym.upper() in bases)


async def exchange_countries(conn: AsyncConnection) -> list[tuple[str, str | None]]:
    """(name, country) of every exchange, by name."""
    return [(name, country) for name, country, _ in await MarketDataRepository(conn).exchanges()]


async def coin_tickers(conn: AsyncConnection, coin: str, exchange: str) -> list[CoinTicker]:
    """Instruments on `exchange` whose base asset is `coin`, by coin name (`bitcoin`) or
    asset symbol (`BTC`); both compared case-insensitively. No match is an empty list."""
    wanted, venue = coin.strip().lower(), exchange.strip().lower()
    repo = MarketDataRepository(conn)
    names = {sym.upper(): name for sym, name in await repo.assets()}
    out: list[CoinTicker] = []
    for inst in await repo.instruments():
        if inst.exchange.lower() != venue:
            continue
        name = names.get(inst.base.upper(), coin_name(inst.base))
        if wanted in (name.lower(), inst.base.lower()):
            out.append(CoinTicker(inst.symbol, inst.exchange, name))
    return out


async def recent_minutes(
    conn: AsyncConnection, inst: InstrumentInfo, start: int, end: int, limit: int
) -> list[Candle]:
    """The 1-minute candles whose minute meets [start, end], newest first, at most `limit`.

    Reads back from `end` in spans that `candles` accepts and stops once `limit` candles
    are found, so a long window costs only the spans it needs.
    """
    if limit <= 0 or start > end:
        return []
    one_minute = Interval(1, "m")
    span = (MAX_CANDLES - 2) * MINUTE
    out: list[Candle] = []
    hi = end + 1
    while hi > start and len(out) < limit:
        lo = max(start, hi - hi % MINUTE - span)
        out.extend(reversed(await candles(conn, inst, one_minute, lo, hi)))
        hi = lo
    return out[:limit]


async def market_instruments(conn: AsyncConnection) -> list[InstrumentInfo]:
    """One instrument per market (base/quote): the one `resolve_instrument` prefers."""
    best: dict[str, InstrumentInfo] = {}
    for inst in await MarketDataRepository(conn).instruments():
        key = compact_symbol(inst.base + inst.quote) or compact_symbol(inst.symbol)
        cur = best.get(key)
        if cur is None or (inst.simulated, inst.exchange) < (cur.simulated, cur.exchange):
            best[key] = inst
    return sorted(best.values(), key=lambda i: (i.symbol, i.exchange))


async def collection_start(
    conn: AsyncConnection, instruments: Sequence[InstrumentInfo]
) -> int | None:
    """When collection of these instruments started: their earliest processed trade."""
    if not instruments:
        return None
    return await MarketDataRepository(conn).first_covered_ts([i.id for i in instruments])


async def price_page(
    conn: AsyncConnection,
    instruments: Sequence[InstrumentInfo],
    start: int | None,
    end: int | None,
    *,
    offset: int,
    limit: int,
) -> tuple[int, list[PricePoint]]:
    """(how many stored trades have start <= time <= end, one page of them), oldest first."""
    if not instruments:
        return 0, []
    repo = MarketDataRepository(conn)
    by_id = {i.id: i for i in instruments}
    count = await repo.count_trades_of(list(by_id), start, end)
    if count == 0 or offset >= count:
        return count, []
    rows = await repo.trades_of(list(by_id), start, end, offset=offset, limit=limit)
    return count, [PricePoint(by_id[inst_id], t) for inst_id, t in rows]


async def price_series(
    conn: AsyncConnection, inst: InstrumentInfo, start: int | None, end: int | None
) -> list[Trade]:
    """Every stored trade with start <= time <= end, oldest first; more than
    `MAX_SEED_PRICES` is an `InvalidParameter` on `range`."""
    repo = MarketDataRepository(conn)
    count = await repo.count_trades(inst.id, start, end)
    if count > MAX_SEED_PRICES:
        raise InvalidParameter(
            "range", f"{count} prices match, more than {MAX_SEED_PRICES}: narrow the time range"
        )
    return await repo.trades(inst.id, start, end)


def price_summary(prices: Sequence[float]) -> PriceSummary:
    """Mean, median, population standard deviation and the change from the first to the last
    price in percent (0 when the first is 0), as seed 004's statistics computed them."""
    if not prices:
        raise InvalidParameter("range", "no prices")
    first, last = prices[0], prices[-1]
    return PriceSummary(
        count=len(prices),
        mean=fmean(prices),
        median=median(prices),
        pstdev=pstdev(prices),
        change_pct=(last - first) / first * 100 if first else 0.0,
    )
