"""Seed 001, the crypto prices tracker (Flask): its four read routes with its shapes.

`/symbols`, `/exchanges`, `/tickers/{coin}/{exchange}`,
`/price-history-minutes/{window}/{ticker}`. Success is `{"data": [...]}`; a bad parameter
is 400 `{"error": "..."}`; no match is an empty list, never a 404.

Every path also works with a trailing slash (`app.StripTrailingSlash`).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from email.utils import format_datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from tickhub.common.time import from_us, now_us
from tickhub.compat._envelopes import SeedEnvelope, flask_body
from tickhub.compat._params import int_or_none
from tickhub.marketdata import service
from tickhub.marketdata.deps import MarketReadsDep
from tickhub.marketdata.store.candles import IntervalError, parse_window

ENVELOPE = SeedEnvelope(
    roots=("/symbols", "/exchanges", "/tickers", "/price-history-minutes"), body=flask_body
)
router = APIRouter(tags=["seed 001: crypto prices tracker"], route_class=ENVELOPE.route_class())

MAX_HISTORY_POINTS = service.MAX_CANDLES


# ---------------------------------------------------------------- schemas


class SeedError001(BaseModel):
    error: str


class CoinOut(BaseModel):
    coin: str
    symbol: str


class CoinsOut(BaseModel):
    data: list[CoinOut]


class CapabilitiesOut(BaseModel):
    trade_ids: bool
    backfill: bool
    transport: str


class ExchangeOut(BaseModel):
    """Seed 001's `{exchange, country}`; tickhub adds the venue's name and capabilities."""

    exchange: str
    country: str | None
    name: str
    capabilities: CapabilitiesOut


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


_ERRORS_001: dict[int | str, dict[str, Any]] = {
    400: {"model": SeedError001, "description": "A malformed parameter"}
}


# ---------------------------------------------------------------- routes


@router.get("/symbols", response_model=CoinsOut, summary="Coins (seed 001)")
async def symbols(tx: MarketReadsDep) -> CoinsOut:
    """Every coin traded as the base of an instrument, by name: `bitcoin`/`BTC`."""
    coins = await service.coin_assets(tx)
    return CoinsOut(data=[CoinOut(coin=name, symbol=sym) for name, sym in coins])


@router.get("/exchanges", response_model=ExchangesOut, summary="Exchanges (seed 001)")
async def exchanges(tx: MarketReadsDep) -> ExchangesOut:
    venues = await service.described_exchanges(tx)
    return ExchangesOut(
        data=[
            ExchangeOut(
                exchange=v.name,
                country=v.country,
                name=v.title,
                capabilities=CapabilitiesOut(
                    trade_ids=v.trade_ids, backfill=v.backfill, transport=v.transport
                ),
            )
            for v in venues
        ]
    )


@router.get(
    "/tickers/{coin}/{exchange}",
    response_model=TickersOut,
    summary="Tickers of a coin on an exchange (seed 001)",
)
async def tickers(tx: MarketReadsDep, coin: str, exchange: str) -> TickersOut:
    """`coin` is a coin name (`bitcoin`) or an asset symbol (`BTC`), any case. No match is
    an empty list, as in the seed."""
    found = await service.coin_tickers(tx, coin, exchange)
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
    tx: MarketReadsDep, window: str, ticker: str, limit: str | None = None
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
        parsed = int_or_none(limit)
        if parsed is None or not 1 <= parsed <= MAX_HISTORY_POINTS:
            return _error_001(f"invalid limit {limit!r}: use a whole number from 1 to 10000")
        count = parsed
    try:
        inst = await service.resolve_instrument(tx, ticker)
    except service.MarketDataError:
        return PriceHistoryOut(data=[])
    end = now_us()
    minutes = await service.recent_minutes(
        tx, inst, end - span // timedelta(microseconds=1), end, count
    )
    return PriceHistoryOut(
        data=[
            PricePointOut(
                ticker=inst.symbol, price=_decimal_text(c.close), date=_http_date(c.start)
            )
            for c in minutes
        ]
    )


# ---------------------------------------------------------------- formats


def _http_date(ts: int) -> str:
    """RFC 822, as Flask's `jsonify` wrote datetimes: `Mon, 23 Nov 2026 15:34:00 GMT`."""
    return format_datetime(from_us(ts).replace(microsecond=0), usegmt=True)


def _decimal_text(price: float) -> str:
    """The price as seed 001 sent its NUMERIC column: a plain decimal string, no exponent."""
    return format(Decimal(repr(price)), "f")


def _error_001(message: str) -> JSONResponse:
    return ENVELOPE.error(400, message)
