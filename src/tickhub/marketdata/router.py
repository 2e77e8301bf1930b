"""`/v1` market-data routes: plain JSON resources, UTC times with a `Z`, errors as
`application/problem+json` naming the parameter at fault.

Thin: parse and validate, call `service`, return `schemas`. Time ranges are half-open,
start <= time < end; a time is ISO-8601 (without an offset it is UTC) or epoch milliseconds.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from tickhub.common.time import now_us
from tickhub.deps import EngineDep
from tickhub.marketdata import encode, service
from tickhub.marketdata.coinmarketcap.schemas import SnapshotDocument
from tickhub.marketdata.deps import (
    MarketReadsDep,
    PipelineStatusDep,
    ReadCacheDep,
    ReadFlightsDep,
    RollupCacheDep,
    SnapshotCacheDep,
    open_reads,
)
from tickhub.marketdata.live.coalesce import coalesced
from tickhub.marketdata.live.snapshot import SnapshotCache, current_body
from tickhub.marketdata.schemas import (
    ERRORS,
    CandleOut,
    CoverageOut,
    InstrumentOut,
    PriceOut,
    SourceStatusOut,
    StatisticsOut,
    TradePageOut,
)
from tickhub.marketdata.service import InstrumentInfo
from tickhub.marketdata.store.candles import DAY
from tickhub.marketdata.stream_router import router as stream_router
from tickhub.marketdata.venue_schemas import CompareOut, ExchangeDescribedOut
from tickhub.marketdata.venues import describe

router = APIRouter(tags=["market data"], responses=ERRORS)

Symbol = Annotated[
    str,
    Query(
        min_length=1,
        max_length=64,
        description="The exchange's symbol (`BTCUSDT`) or base-quote (`BTC-USDT`)",
    ),
]
ExchangeFilter = Annotated[
    str | None,
    Query(
        max_length=64,
        description="Exchange name; without it a live exchange is preferred to the simulated one",
    ),
]
_TIME = "ISO-8601 (`2026-11-23T15:34:07Z`; no offset means UTC) or epoch milliseconds"
Start = Annotated[str | None, Query(max_length=64, description=f"Inclusive; {_TIME}")]
End = Annotated[str | None, Query(max_length=64, description=f"Exclusive; {_TIME}")]


def _time(value: str | None, field: str) -> int | None:
    return service.parse_time(value, field) if value else None


@router.get("/exchanges", summary="Exchanges, their countries and capabilities")
async def list_exchanges(tx: MarketReadsDep) -> list[ExchangeDescribedOut]:
    """Every exchange with stored data: its name and country, what it supports (trade
    ids, REST backfill, WebSocket or polling) and what completeness it can promise.
    `simulated: true` marks the simulated market."""
    return [ExchangeDescribedOut.of(e) for e in await service.described_exchanges(tx)]


@router.get("/compare", summary="One asset across venues: prices, spread, VWAP")
async def compare_venues(
    tx: MarketReadsDep,
    base: Annotated[str, Query(min_length=1, max_length=20, description="`BTC`")],
    quote: Annotated[
        str,
        Query(
            min_length=1,
            max_length=20,
            description="`USD` groups USD and its stablecoins (USDT, USDC, …); `USDT` is "
            "USDT alone",
        ),
    ],
    window: Annotated[
        int,
        Query(
            ge=service.MIN_WINDOW_S,
            le=service.MAX_WINDOW_S,
            description="Seconds of volume behind the VWAP (whole minutes, the current one "
            "included)",
        ),
    ] = 3600,
) -> CompareOut:
    """The latest price of `base` on every venue that trades it against `quote`, the
    spread between the highest and the lowest, and the volume-weighted average price
    over the window. Simulated venues are listed, and left out of the spread and the
    VWAP when real ones trade the pair."""
    return CompareOut.of(await service.compare(tx, base, quote, window, now_us()))


@router.get("/instruments", summary="Instruments")
async def list_instruments(
    tx: MarketReadsDep, exchange: ExchangeFilter = None
) -> list[InstrumentOut]:
    """Every instrument, or those of one exchange."""
    return [InstrumentOut.of(i) for i in await service.exchange_instruments(tx, exchange)]


@router.get("/prices", summary="Latest prices", response_model=list[PriceOut])
async def list_prices(
    cache: SnapshotCacheDep,
    engine: EngineDep,
    exchange: ExchangeFilter = None,
    symbol: Annotated[
        str | None,
        Query(max_length=64, description="Only this symbol (`BTCUSDT` or `BTC-USDT`)"),
    ] = None,
) -> Response:
    """The latest trade of every instrument that has one, optionally filtered. Served
    from memory (kept current by the bus) once the snapshot cache is warm."""
    index = cache.prices if cache is not None else None
    if index is not None and not exchange and not symbol:
        return _json(encode.prices_json(index.all))
    async with open_reads(engine) as tx:
        found = await service.prices(tx, exchange=exchange or None, symbol=symbol or None)
    return _json(encode.prices_json(found))


@router.get(
    "/prices/{exchange}/{symbol}",
    summary="Latest price of one instrument",
    response_model=PriceOut,
)
async def get_price(
    cache: SnapshotCacheDep, engine: EngineDep, exchange: str, symbol: str
) -> Response:
    """404 when the instrument is unknown or has no trade yet. Served from memory (kept
    current by the bus) once the snapshot cache is warm."""
    index = cache.prices if cache is not None else None
    found = index.find(symbol, exchange) if index is not None else None
    if found is None:
        async with open_reads(engine) as tx:
            found = await service.price(tx, exchange, symbol)
    return _json(encode.price_json(found))


def hot_price(cache: SnapshotCache | None, exchange: str, symbol: str) -> bytes | None:
    """`get_price`'s body when memory answers it; None to let the route answer (and word
    the error). Called ahead of the router for the busiest read (`app.HotReads`)."""
    index = cache.prices if cache is not None else None
    found = index.find(symbol, exchange) if index is not None else None
    return encode.price_json(found) if found is not None else None


def _json(body: bytes) -> Response:
    return Response(body, media_type="application/json")


@router.get(
    "/snapshot",
    summary="Everything latest: prices with their last 24 hours, listings, global metrics",
    response_model=SnapshotDocument,
)
async def get_snapshot(cache: SnapshotCacheDep, engine: EngineDep) -> Response:
    """One document: every instrument's latest trade and the open, high, low, close,
    change and volume of the 24 hours up to the current minute (from the stored 1 h and
    1 m candles), the latest CoinMarketCap listings by rank and global metrics.

    Served from memory, rebuilt after every insert (and every minute); read from the
    database only while that cache is not running."""
    return Response(await current_body(cache, engine), media_type="application/json")


@router.get("/trades", summary="Trades, page by page")
async def list_trades(
    tx: MarketReadsDep,
    symbol: Symbol,
    exchange: ExchangeFilter = None,
    start: Start = None,
    end: End = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Trades per page")] = 500,
    cursor: Annotated[
        str | None, Query(max_length=200, description="`next_cursor` of the previous page")
    ] = None,
) -> TradePageOut:
    """Stored trades with start <= time < end, oldest first. Follow `next_cursor` until it
    is null: each trade appears on exactly one page, even while new trades arrive."""
    t0, t1 = _time(start, "start"), _time(end, "end")
    inst = await service.find_instrument(tx, symbol, exchange)
    page = await service.trades_page(tx, inst, start=t0, end=t1, limit=limit, cursor=cursor or None)
    return TradePageOut.of(inst, page)


@router.get("/candles", summary="Candles at any interval", response_model=list[CandleOut])
async def list_candles(
    cache: SnapshotCacheDep,
    answers: ReadCacheDep,
    memory: RollupCacheDep,
    flights: ReadFlightsDep,
    engine: EngineDep,
    symbol: Symbol,
    exchange: ExchangeFilter = None,
    interval: Annotated[
        str,
        Query(
            max_length=16,
            description="A count and a unit: s, m (minutes), h, d, w or M (months): "
            "1s, 1m, 7m, 1h, 4h, 1d, 1w, 1M",
        ),
    ] = "1m",
    start: Start = None,
    end: End = None,
    tz: Annotated[
        str | None,
        Query(
            max_length=64,
            description="IANA time zone aligning days, weeks (from Monday) and months; "
            "default UTC. Shorter intervals are aligned to the epoch.",
        ),
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=service.MAX_CANDLES, description="At most this many candles")
    ] = 500,
) -> Response:
    """OHLCV, trade count and VWAP per bucket, oldest first; `time` is the bucket start and
    buckets without trades are left out. Without `start`: the newest `limit` buckets up to
    `end` (default now). With `start`: the oldest `limit` buckets from there. Answers over
    windows that have closed are kept in memory until a write changes them."""
    iv = service.interval_or_error(interval)
    zone = service.parse_tz(tz)
    t0, t1 = _time(start, "start"), _time(end, "end")
    now = now_us()
    inst = _known(cache, symbol, exchange)
    key: tuple[object, ...] = ()
    if inst is not None and answers is not None:
        w = service.series_window(iv, start=t0, end=t1, limit=limit, now=now, tz=zone)
        key = ("candles", inst.id, iv.text, zone.key if zone else None, w)
        if (body := answers.get(key)) is not None:
            return _json(body)

    async def read() -> bytes:
        # taken before the unit of work opens: see `RollupCache.reader`
        rollups = memory.reader(inst) if memory is not None and inst is not None else None
        async with open_reads(engine) as tx:
            found_inst = inst or await service.find_instrument(tx, symbol, exchange)
            instrument = (found_inst.exchange, found_inst.symbol)
            generation = answers.generation(instrument) if answers else 0
            found = await service.candle_series_table(
                tx, found_inst, iv, start=t0, end=t1, limit=limit, tz=zone, now=now, memory=rollups
            )
        body = encode.candle_table_json(found)
        if key and answers is not None:
            lo, hi = service.series_span(iv, key[-1], zone)  # type: ignore[arg-type]
            answers.put(key, instrument, lo, hi, generation, body)
        return body

    asked = ("candles", _asked(inst, symbol, exchange), iv.text, zone, t0, t1, limit)
    return _json(await coalesced(flights, asked, read))


def _asked(inst: InstrumentInfo | None, symbol: str, exchange: str | None) -> object:
    """The instrument of a request, for the key of identical requests in flight."""
    return inst.id if inst is not None else (symbol, exchange)


def _known(cache: SnapshotCache | None, symbol: str, exchange: str | None) -> InstrumentInfo | None:
    """The instrument `find_instrument` would choose, from memory; None when the
    in-memory index does not know it (the database then answers, or words the error)."""
    index = cache.prices if cache is not None else None
    found = index.find(symbol, exchange) if index is not None else None
    return found.instrument if found is not None else None


@router.get("/statistics", summary="Statistics of the trades in a time range",
            response_model=StatisticsOut)  # fmt: skip
async def get_statistics(
    cache: SnapshotCacheDep,
    answers: ReadCacheDep,
    memory: RollupCacheDep,
    flights: ReadFlightsDep,
    engine: EngineDep,
    symbol: Symbol,
    exchange: ExchangeFilter = None,
    start: Annotated[
        str | None, Query(max_length=64, description=f"Inclusive, default end - 24 h; {_TIME}")
    ] = None,
    end: Annotated[
        str | None, Query(max_length=64, description=f"Exclusive, default now; {_TIME}")
    ] = None,
) -> Response:
    """Count, open, close, high, low, mean, median, population standard deviation, VWAP,
    volumes and change of the stored trades with start <= time < end. Answers over
    windows that have closed are kept in memory until a write changes them."""
    given_end = _time(end, "end")
    given_start = _time(start, "start")
    t1 = now_us() if given_end is None else given_end
    t0 = max(t1 - DAY, 0) if given_start is None else given_start
    inst = _known(cache, symbol, exchange)
    key = ("statistics", inst.id, t0, t1) if inst is not None else ()
    if key and answers is not None and (body := answers.get(key)) is not None:
        return _json(body)

    async def read() -> bytes:
        rollups = memory.reader(inst) if memory is not None and inst is not None else None
        async with open_reads(engine) as tx:
            found_inst = inst or await service.find_instrument(tx, symbol, exchange)
            instrument = (found_inst.exchange, found_inst.symbol)
            generation = answers.generation(instrument) if answers else 0
            stats = await service.window_statistics(tx, found_inst, t0, t1, rollups)
        body = StatisticsOut.of(found_inst, t0, t1, stats).model_dump_json().encode()
        if key and answers is not None:
            answers.put(key, instrument, t0, t1, generation, body)
        return body

    asked = ("statistics", _asked(inst, symbol, exchange), given_start, given_end)
    return _json(await coalesced(flights, asked, read))


@router.get("/coverage", summary="Which trade ids are stored, and the gaps")
async def get_coverage(
    tx: MarketReadsDep, symbol: Symbol, exchange: ExchangeFilter = None
) -> CoverageOut:
    """Runs of consecutive venue trade ids that have been processed, and the gaps between
    them; `complete` is true when nothing is missing. `completeness` says what can be
    known: `ids` (consecutive venue ids: gaps are exact), `time` (no consecutive ids, as
    through ccxt: completeness is not claimed), `simulated`, `unknown`."""
    inst = await service.find_instrument(tx, symbol, exchange)
    ranges, gaps = await service.coverage(tx, inst)
    return CoverageOut.of(inst, ranges, gaps, describe(inst.exchange))


@router.get("/sources", summary="Market-data sources and their state")
async def list_sources(pipeline: PipelineStatusDep) -> list[SourceStatusOut]:
    """The state of each source (connecting, connected, offline, simulated, …) as the
    tracker last reported it. `simulated: true` marks the simulated market."""
    return [SourceStatusOut.of(s) for s in pipeline.sources()]


# `/v1/stream` (the live WebSocket) has its own module; its routes join these.
router.include_router(stream_router)
