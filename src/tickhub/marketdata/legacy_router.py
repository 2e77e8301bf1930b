"""The seed paths, with the seeds' own shapes, so that the original clients work unchanged.

Seed 001 (crypto prices tracker, Flask): `/symbols`, `/exchanges`,
`/tickers/{coin}/{exchange}`, `/price-history-minutes/{window}/{ticker}`. Success is
`{"data": [...]}`; a bad parameter is 400 `{"error": "..."}`; no match is an empty list,
never a 404.

Seed 004 (crypto-ticker, Django REST framework): `/api/current_price/`,
`/api/crypto_price/` and `/api/crypto_price/statistics/`. A bad parameter is 400
`{"detail": "..."}` with the seed's own messages.

Seed 004's datetimes are naive (`2024-04-01T11:03:47`). The seed meant the server's local
time; tickhub reads and writes them as UTC, and also accepts ISO 8601 with `Z` or an offset.

Every path also works with a trailing slash (`app.StripTrailingSlash`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlunsplit

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from tickhub.common.time import datetime_to_us, now_us
from tickhub.deps import ConnDep
from tickhub.marketdata import service
from tickhub.marketdata.store.candles import IntervalError, parse_window
from tickhub.marketdata.store.repository import InstrumentInfo

router = APIRouter(tags=["seed compatibility"])

US = 1_000_000
PAGE_SIZE = 50  # seed 004: DRF LimitOffsetPagination, PAGE_SIZE 50
MAX_PAGE_SIZE = 10_000  # a larger `limit` is cut to this, like DRF's `max_limit`
MAX_HISTORY_POINTS = service.MAX_CANDLES
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_INT = re.compile(r"[-+]?[0-9]{1,18}")


# ---------------------------------------------------------------- schemas: seed 001


class SeedError001(BaseModel):
    error: str


class CoinOut(BaseModel):
    coin: str
    symbol: str


class CoinsOut(BaseModel):
    data: list[CoinOut]


class ExchangeOut(BaseModel):
    exchange: str
    country: str | None


class ExchangesOut(BaseModel):
    data: list[ExchangeOut]


class TickerOut(BaseModel):
    ticker: str
    exchange: str
    coin: str


class TickersOut(BaseModel):
    data: list[TickerOut]


class PricePointOut(BaseModel):
    ticker: str
    price: str
    date: str


class PriceHistoryOut(BaseModel):
    data: list[PricePointOut]


# ---------------------------------------------------------------- schemas: seed 004


class SeedError004(BaseModel):
    detail: str


class CurrentPriceOut(BaseModel):
    latest_price: float
    datetime: str


class CryptoPriceOut(BaseModel):
    id: int
    datetime: str
    symbol: str
    price: float


class CryptoPricePageOut(BaseModel):
    count: int
    next: str | None
    previous: str | None
    results: list[CryptoPriceOut]


class CryptoPriceStatisticsOut(BaseModel):
    crypto_prices: list[CryptoPriceOut]
    total_count: int
    average_price: float
    median_price: float
    standard_deviation: float
    percentage_change: float


_ERRORS_001: dict[int | str, dict[str, Any]] = {
    400: {"model": SeedError001, "description": "A malformed parameter"}
}
_ERRORS_004: dict[int | str, dict[str, Any]] = {
    400: {"model": SeedError004, "description": "The seed's validation messages"}
}


# ---------------------------------------------------------------- seed 001 routes


@router.get("/symbols", response_model=CoinsOut, summary="Coins (seed 001)")
async def symbols(conn: ConnDep) -> CoinsOut:
    """Every coin traded as the base of an instrument, by name: `bitcoin`/`BTC`."""
    coins = await service.coin_assets(conn)
    return CoinsOut(data=[CoinOut(coin=name, symbol=sym) for name, sym in coins])


@router.get("/exchanges", response_model=ExchangesOut, summary="Exchanges (seed 001)")
async def exchanges(conn: ConnDep) -> ExchangesOut:
    rows = await service.exchange_countries(conn)
    return ExchangesOut(data=[ExchangeOut(exchange=n, country=c) for n, c in rows])


@router.get(
    "/tickers/{coin}/{exchange}",
    response_model=TickersOut,
    summary="Tickers of a coin on an exchange (seed 001)",
)
async def tickers(conn: ConnDep, coin: str, exchange: str) -> TickersOut:
    """`coin` is a coin name (`bitcoin`) or an asset symbol (`BTC`), any case. No match is
    an empty list, as in the seed."""
    found = await service.coin_tickers(conn, coin, exchange)
    return TickersOut(
        data=[TickerOut(ticker=t.ticker, exchange=t.exchange, coin=t.coin) for t in found]
    )


@router.get(
    "/price-history-minutes/{window}/{ticker}",
    response_model=PriceHistoryOut,
    responses=_ERRORS_001,
    summary="Recent prices of a ticker, one a minute (seed 001)",
)
async def price_history_minutes(
    conn: ConnDep, window: str, ticker: str, limit: str | None = None
) -> PriceHistoryOut | JSONResponse:
    """Prices of `ticker` over the last `window`, newest first, one point per minute.

    `window` is a PostgreSQL interval literal: `120 minute` (`120%20minute` in the URL),
    `2880 minutes`, `1 day 2 hours`. Each point is a minute that meets the window (the
    current one included) and has trades: `price` is that minute's close as a decimal
    string, `date` its start in RFC 822 (`Mon, 23 Nov 2026 15:34:00 GMT`). The 1-minute
    candles count every trade, also when `TICKHUB_CAPTURE_INTERVAL` stores only a sample.

    `ticker` is the exchange symbol (`BTCUSDT`) or base-quote (`BTC-USDT`); a live venue is
    preferred over the simulated one. An unknown ticker gives `{"data": []}`, as the
    seed's query did. `limit` (1 to 10000) keeps the newest points; without it, every
    minute of the window is listed (the newest 10000 at most). An empty `limit` is
    no limit.
    """
    try:
        span = parse_window(window)
    except IntervalError as exc:
        return _error_001(str(exc))
    except (OverflowError, ValueError):  # a count too large for a timedelta
        return _error_001(f"invalid window {window!r}: too long")
    count = MAX_HISTORY_POINTS
    if limit is not None and limit.strip():
        parsed = _int_or_none(limit)
        if parsed is None or not 1 <= parsed <= MAX_HISTORY_POINTS:
            return _error_001(f"invalid limit {limit!r}: use a whole number from 1 to 10000")
        count = parsed
    try:
        inst = await service.resolve_instrument(conn, ticker)
    except service.MarketDataError:
        return PriceHistoryOut(data=[])
    end = now_us()
    minutes = await service.recent_minutes(
        conn, inst, end - span // timedelta(microseconds=1), end, count
    )
    return PriceHistoryOut(
        data=[
            PricePointOut(
                ticker=inst.symbol, price=_decimal_text(c.close), date=_http_date(c.start)
            )
            for c in minutes
        ]
    )


# ---------------------------------------------------------------- seed 004 routes


@router.get(
    "/api/current_price",
    response_model=CurrentPriceOut,
    responses=_ERRORS_004,
    summary="Latest price of a symbol (seed 004)",
)
async def current_price(conn: ConnDep, symbol: str | None = None) -> CurrentPriceOut | JSONResponse:
    """`{"latest_price", "datetime"}`: the newest stored trade; `datetime` is naive UTC."""
    try:
        inst = await service.resolve_instrument(conn, symbol or "")
    except service.MarketDataError:
        return _error_004(_unsupported(symbol))
    latest = await service.latest_prices(conn, [inst.id])
    if not latest:
        return _error_004(_unsupported(symbol))
    return CurrentPriceOut(latest_price=latest[0].price, datetime=_seed_datetime(latest[0].ts))


@router.get(
    "/api/crypto_price",
    response_model=CryptoPricePageOut,
    responses=_ERRORS_004,
    summary="Stored prices, paginated (seed 004)",
)
async def crypto_price(
    request: Request,
    conn: ConnDep,
    symbol: str | None = None,
    start_datetime: str | None = None,
    end_datetime: str | None = None,
    limit: str | None = None,
    offset: str | None = None,
) -> CryptoPricePageOut | JSONResponse:
    """Stored trades with start_datetime <= time <= end_datetime, oldest first, as
    `{count, next, previous, results: [{id, datetime, symbol, price}]}`.

    `id` is the venue's trade id. Times are compared at whole seconds, as the seed stored
    them: `end_datetime=11:04:47` includes a trade at 11:04:47.5. Every filter is optional;
    without `symbol`, every market is listed (one instrument per market, as `symbol` would
    pick). Pages: `limit` (default 50, at most 10000) and `offset`; `next`/`previous` are
    absolute URLs or null. An empty `limit` or `offset` is the default; one that is not a
    whole number in range is a 400 here (the seed silently used the default).
    """
    try:
        found = await _filters(conn, symbol, start_datetime, end_datetime)
        size = _page_param("limit", limit, default=PAGE_SIZE, minimum=1)
        skip = _page_param("offset", offset, default=0, minimum=0)
    except _SeedError as exc:
        return _error_004(exc.message)
    size = min(size, MAX_PAGE_SIZE)
    count, points = await service.price_page(
        conn, found.instruments, found.start, found.end, offset=skip, limit=size
    )
    return CryptoPricePageOut(
        count=count,
        next=None if skip + size >= count else _page_link(request, size, skip + size),
        previous=(
            None
            if skip <= 0
            else _page_link(request, size, skip - size if skip - size > 0 else None)
        ),
        results=[
            _price_item(p.instrument, p.trade.trade_id, p.trade.ts, p.trade.price) for p in points
        ],
    )


@router.get(
    "/api/crypto_price/statistics",
    response_model=CryptoPriceStatisticsOut,
    responses=_ERRORS_004,
    summary="Statistics of stored prices (seed 004)",
)
async def crypto_price_statistics(
    conn: ConnDep,
    symbol: str | None = None,
    start_datetime: str | None = None,
    end_datetime: str | None = None,
) -> CryptoPriceStatisticsOut | JSONResponse:
    """The matching prices (unpaginated, at most 100000) with their count, mean, median,
    population standard deviation and percentage change from the earliest to the latest
    (0 when the earliest is 0). Same filters and checks as `/api/crypto_price/`; `symbol`
    is required and no match is a 400."""
    if not symbol:
        return _error_004("symbol is a mandatory query param")
    try:
        found = await _filters(conn, symbol, start_datetime, end_datetime)
    except _SeedError as exc:
        return _error_004(exc.message)
    inst = found.instruments[0]
    try:
        trades = await service.price_series(conn, inst, found.start, found.end)
    except service.MarketDataError:
        return _error_004(
            f"More than {service.MAX_SEED_PRICES} prices match: "
            "narrow start_datetime and end_datetime"
        )
    if not trades:
        return _error_004("No matching data found")
    summary = service.price_summary([t.price for t in trades])
    return CryptoPriceStatisticsOut(
        crypto_prices=[_price_item(inst, t.trade_id, t.ts, t.price) for t in trades],
        total_count=summary.count,
        average_price=summary.mean,
        median_price=summary.median,
        standard_deviation=summary.pstdev,
        percentage_change=summary.change_pct,
    )


# ---------------------------------------------------------------- parameters and formats


class _SeedError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class _Filters:
    instruments: list[InstrumentInfo]
    start: int | None  # inclusive, microseconds
    end: int | None  # inclusive, microseconds


async def _filters(
    conn: ConnDep, symbol: str | None, start_raw: str | None, end_raw: str | None
) -> _Filters:
    """Seed 004's checks, in its order and with its messages: the symbol is known; the
    start is not before collection began; the end is before now; the start is not after
    the end. A malformed datetime is a 400 naming its parameter (the seed gave a 500)."""
    if symbol:
        try:
            instruments = [await service.resolve_instrument(conn, symbol)]
        except service.MarketDataError as exc:
            raise _SeedError(_unsupported(symbol)) from exc
    else:
        instruments = await service.market_instruments(conn)
    start = end = None
    if start_raw:
        start = _parse_datetime("start_datetime", start_raw)
        began = await service.collection_start(conn, instruments)
        if began is not None:
            began_at = _naive(_utc(began)).replace(microsecond=0)
            if _naive(start) < began_at:
                raise _SeedError(
                    f"Data collection started from {began_at}, "
                    "but the specified start_datetime precedes that"
                )
    if end_raw:
        end = _parse_datetime("end_datetime", end_raw)
        now = datetime.now(UTC)
        if end >= now:
            raise _SeedError(
                f"The specified end_datetime {_naive(end)} "
                f"must be lesser than current datetime {_naive(now)}"
            )
    if start is not None and end is not None and start > end:
        raise _SeedError(
            f"The specified end_datetime {_naive(end)} "
            f"fails to fall after the start_datetime {_naive(start)}"
        )
    return _Filters(
        instruments,
        None if start is None else -(-datetime_to_us(start) // US) * US,
        None if end is None else datetime_to_us(end) // US * US + US - 1,
    )


def _parse_datetime(name: str, raw: str) -> datetime:
    """`YYYY-MM-DDTHH:MM:SS` (UTC), or ISO 8601 with `Z` or an offset."""
    try:
        value = datetime.fromisoformat(raw.strip())
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise _SeedError(
            f"Invalid {name} {raw!r}: use YYYY-MM-DDTHH:MM:SS (UTC) or ISO 8601 with Z or an offset"
        ) from exc


def _page_param(name: str, raw: str | None, *, default: int, minimum: int) -> int:
    if raw is None or not raw.strip():
        return default
    value = _int_or_none(raw)
    if value is None or value < minimum:
        kind = "a positive" if minimum > 0 else "a non-negative"
        raise _SeedError(f"Invalid {name} {raw!r}: use {kind} whole number")
    return value


def _int_or_none(raw: str) -> int | None:
    text = raw.strip()
    return int(text) if _INT.fullmatch(text) else None


def _page_link(request: Request, limit: int, offset: int | None) -> str:
    """The request's absolute URL with `limit` and `offset` set (or `offset` removed),
    parameters sorted, on the seed's slash-terminated path, as DRF built them."""
    url = request.url
    query = parse_qs(url.query, keep_blank_values=True)
    query["limit"] = [str(limit)]
    if offset is None:
        query.pop("offset", None)
    else:
        query["offset"] = [str(offset)]
    path = url.path if url.path.endswith("/") else url.path + "/"
    return urlunsplit(
        (url.scheme, url.netloc, path, urlencode(sorted(query.items()), doseq=True), "")
    )


def _price_item(inst: InstrumentInfo, trade_id: int, ts: int, price: float) -> CryptoPriceOut:
    return CryptoPriceOut(id=trade_id, datetime=_seed_datetime(ts), symbol=inst.symbol, price=price)


def _unsupported(symbol: str | None) -> str:
    # The seed formats a missing symbol as `None`.
    return f"The given cryptocurrency pair {symbol} is either not supported or invalid"


def _utc(ts: int) -> datetime:
    """Exact (`events.us_to_datetime` goes through a float)."""
    return EPOCH + timedelta(microseconds=ts)


def _naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


def _seed_datetime(ts: int) -> str:
    """Seed 004's naive ISO datetime, whole seconds (its trades were stored per second)."""
    return _naive(_utc(ts)).replace(microsecond=0).isoformat()


def _http_date(ts: int) -> str:
    """RFC 822, as Flask's `jsonify` wrote datetimes: `Mon, 23 Nov 2026 15:34:00 GMT`."""
    return format_datetime(_utc(ts).replace(microsecond=0), usegmt=True)


def _decimal_text(price: float) -> str:
    """The price as seed 001 sent its NUMERIC column: a plain decimal string, no exponent."""
    return format(Decimal(repr(price)), "f")


def _error_001(message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=400)


def _error_004(message: str) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=400)
