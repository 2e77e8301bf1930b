"""Seed 004, crypto-ticker (Django REST framework): `/api/current_price/`,
`/api/crypto_price/` and `/api/crypto_price/statistics/` with the seed's shapes. A bad
parameter is 400 `{"detail": "..."}` with the seed's own messages.

Seed 004's datetimes are naive (`2024-04-01T11:03:47`). The seed meant the server's local
time; tickhub reads and writes them as UTC, and also accepts ISO 8601 with `Z` or an offset.

Every path also works with a trailing slash (`app.StripTrailingSlash`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from tickhub.common.time import from_us
from tickhub.compat._envelopes import SeedEnvelope, drf_body
from tickhub.compat._ticker_blocks import NO_DATA, fits, statistics_from_blocks, too_many
from tickhub.compat._ticker_kept import cached_statistics, statistics_keep
from tickhub.compat._ticker_params import (
    SeedError,
    end_us,
    naive,
    page_link,
    page_param,
    parse_datetime,
    start_us,
)
from tickhub.compat._ticker_stream import statistics_response
from tickhub.deps import EngineDep
from tickhub.marketdata import service
from tickhub.marketdata.deps import (
    MarketReadsDep,
    PriceBlocksDep,
    ReadCacheDep,
    SnapshotCacheDep,
    open_reads,
)
from tickhub.marketdata.live.snapshot import SnapshotCache
from tickhub.marketdata.service import InstrumentInfo

ENVELOPE = SeedEnvelope(roots=("/api/current_price", "/api/crypto_price"), body=drf_body)
router = APIRouter(tags=["seed 004: crypto-ticker"], route_class=ENVELOPE.route_class())

US = 1_000_000
PAGE_SIZE = 50  # seed 004: DRF LimitOffsetPagination, PAGE_SIZE 50
MAX_PAGE_SIZE = 10_000  # a larger `limit` is cut to this, like DRF's `max_limit`


# ---------------------------------------------------------------- schemas


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


_ERRORS_004: dict[int | str, dict[str, Any]] = {
    400: {"model": SeedError004, "description": "The seed's validation messages"}
}


# ---------------------------------------------------------------- routes


@router.get(
    "/api/current_price",
    response_model=CurrentPriceOut,
    responses=_ERRORS_004,
    summary="Latest price of a symbol (seed 004)",
)
async def current_price(
    cache: SnapshotCacheDep, engine: EngineDep, symbol: str | None = None
) -> Response:
    """`{"latest_price", "datetime"}`: the newest stored trade; `datetime` is naive UTC.
    Served from memory (kept current by the bus) once the snapshot cache is warm."""
    index = cache.prices if cache is not None else None
    latest = index.find(symbol) if index is not None and symbol else None
    if latest is None:
        async with open_reads(engine) as tx:
            try:
                inst = await service.resolve_instrument(tx, symbol or "")
            except service.MarketDataError:
                return _error_004(_unsupported(symbol))
            found = await service.latest_prices(tx, [inst.id])
        if not found:
            return _error_004(_unsupported(symbol))
        latest = found[0]
    body = {"latest_price": latest.price, "datetime": _seed_datetime(latest.ts)}
    return Response(orjson.dumps(body), media_type="application/json")


def hot_current_price(cache: SnapshotCache | None, symbol: str) -> bytes | None:
    """`current_price`'s body when memory answers it; None to let the route answer (and
    word the error). Called ahead of the router for the busiest read (`app.HotReads`)."""
    index = cache.prices if cache is not None else None
    latest = index.find(symbol) if index is not None and symbol else None
    if latest is None:
        return None
    return orjson.dumps({"latest_price": latest.price, "datetime": _seed_datetime(latest.ts)})


@router.get(
    "/api/crypto_price",
    response_model=CryptoPricePageOut,
    responses=_ERRORS_004,
    summary="Stored prices, paginated (seed 004)",
)
async def crypto_price(
    request: Request,
    cache: SnapshotCacheDep,
    answers: ReadCacheDep,
    engine: EngineDep,
    symbol: str | None = None,
    start_datetime: str | None = None,
    end_datetime: str | None = None,
    limit: str | None = None,
    offset: str | None = None,
) -> Response:
    """Stored trades with start_datetime <= time <= end_datetime, oldest first, as
    `{count, next, previous, results: [{id, datetime, symbol, price}]}`.

    `id` is the venue's trade id. Times are compared at whole seconds, as the seed stored
    them: `end_datetime=11:04:47` includes a trade at 11:04:47.5. Every filter is optional;
    without `symbol`, every market is listed (one instrument per market, as `symbol` would
    pick). Pages: `limit` (default 50, at most 10000) and `offset`; `next`/`previous` are
    absolute URLs or null. An empty `limit` or `offset` is the default; one that is not a
    whole number in range is a 400 here (the seed silently used the default). A page of
    one symbol over a window that ended before the current minute is kept in memory, like
    the statistics, keyed by the instrument and the request's URL (its links are built
    from it).
    """
    page_key = _page_key(request, cache, symbol, end_datetime)
    if page_key and answers is not None and (body := answers.get(page_key)) is not None:
        return Response(body, media_type="application/json")
    async with open_reads(engine) as tx:
        try:
            found = await _filters(tx, symbol, start_datetime, end_datetime)
            size = page_param("limit", limit, default=PAGE_SIZE, minimum=1)
            skip = page_param("offset", offset, default=0, minimum=0)
        except SeedError as exc:
            return _error_004(exc.message)
        size = min(size, MAX_PAGE_SIZE)
        inst = found.instruments[0] if symbol else None
        generation = answers.generation((inst.exchange, inst.symbol)) if answers and inst else 0
        try:
            count, points = await service.price_page(
                tx, found.instruments, found.start, found.end, offset=skip, limit=size
            )
        except service.MarketDataError:
            return _error_004(
                f"More than {service.MAX_SEED_MATCHES} prices match: "
                "narrow start_datetime and end_datetime"
            )
    # the bytes FastAPI writes for the returned model (`response_model`'s `dump_json`)
    body = _page(request, count, skip, size, points).model_dump_json().encode()
    if inst is not None and answers is not None and found.end is not None:
        key = _page_key(request, cache, symbol, end_datetime, inst)
        window = (inst.exchange, inst.symbol), found.start or 0, found.end + 1
        answers.put(key, *window, generation, body)
    return Response(body, media_type="application/json")


def _page_key(
    request: Request,
    cache: SnapshotCache | None,
    symbol: str | None,
    end_raw: str | None,
    inst: InstrumentInfo | None = None,
) -> tuple[object, ...]:
    """The key of a page of one symbol over a window with an end (another is not kept):
    its instrument (`inst`, or the in-memory index's choice) and the URL its links are
    built from; () when there is none."""
    if inst is None and symbol and end_raw:
        index = cache.prices if cache is not None else None
        latest = index.find(symbol) if index is not None else None
        inst = latest.instrument if latest is not None else None
    if inst is None:
        return ()
    url = request.url
    return ("crypto_price", inst.id, url.scheme, url.netloc, url.path.rstrip("/"), url.query)


def _page(
    request: Request, count: int, skip: int, size: int, points: list[service.PricePoint]
) -> CryptoPricePageOut:
    return CryptoPricePageOut(
        count=count,
        next=None if skip + size >= count else page_link(request, size, skip + size),
        previous=(
            None
            if skip <= 0
            else page_link(request, size, skip - size if skip - size > 0 else None)
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
    cache: SnapshotCacheDep,
    answers: ReadCacheDep,
    blocks: PriceBlocksDep,
    engine: EngineDep,
    symbol: str | None = None,
    start_datetime: str | None = None,
    end_datetime: str | None = None,
) -> Response:
    """The matching prices (unpaginated, at most 100000) with their count, mean, median,
    population standard deviation and percentage change from the earliest to the latest
    (0 when the earliest is 0). Same filters and checks as `/api/crypto_price/`; `symbol`
    is required and no match is a 400. A window of up to two days with both ends given is
    read from the prices kept by closed minute, so only its partial and open minutes come
    from the database. Any other is streamed: the prices are read and written 10,000 at a
    time, and the statistics follow them; the first chunk is read with the checks, and
    only a window with more than one chunk is counted first (more than 100,000 is a 400
    before any byte of a body). An answer over a window that ended before the current
    minute is kept in memory, like `/v1/statistics`, until a write changes a minute
    inside it."""
    if not symbol:
        return _error_004("symbol is a mandatory query param")
    if (
        body := cached_statistics(cache, answers, symbol, start_datetime, end_datetime)
    ) is not None:
        return Response(body, media_type="application/json")
    async with open_reads(engine) as tx:
        try:
            found = await _filters(tx, symbol, start_datetime, end_datetime)
        except SeedError as exc:
            return _error_004(exc.message)
    inst = found.instruments[0]
    start, end = found.start, found.end
    # Taken before the prices are read: a write announced after it keeps the answer out.
    generation = answers.generation((inst.exchange, inst.symbol)) if answers else 0
    keep = statistics_keep(answers, inst, start, end, generation)
    if (
        blocks is not None
        and blocks.running
        and start is not None
        and end is not None
        and fits(start, end)
    ):  # a rolling window: its closed minutes are in memory
        try:
            body = await statistics_from_blocks(engine, blocks, inst, start, end)
        except SeedError as exc:
            return _error_004(exc.message)
        if keep is not None and len(body) <= keep.limit:
            keep.put(body)
        return Response(body, media_type="application/json")
    async with open_reads(engine) as tx:
        # The first chunk is read here: a window that fits in it needs no count.
        first, more = await service.price_chunk(tx, inst, start, end, after=None, listed=0)
        count = len(first)
        if more:
            try:
                count = await service.count_prices(tx, inst, start, end)
            except service.MarketDataError:
                return _error_004(too_many())
    if not count or not first:
        return _error_004(NO_DATA)
    return statistics_response(engine, inst, start, end, first, more=more, keep=keep)


# ---------------------------------------------------------------- parameters and formats


@dataclass(frozen=True, slots=True)
class _Filters:
    instruments: list[InstrumentInfo]
    start: int | None  # inclusive, microseconds
    end: int | None  # inclusive, microseconds


async def _filters(
    tx: MarketReadsDep, symbol: str | None, start_raw: str | None, end_raw: str | None
) -> _Filters:
    """Seed 004's checks, in its order and with its messages: the symbol is known; the
    start is not before collection began; the end is before now; the start is not after
    the end. A malformed datetime is a 400 naming its parameter (the seed gave a 500)."""
    if symbol:
        try:
            instruments = [await service.resolve_instrument(tx, symbol)]
        except service.MarketDataError as exc:
            raise SeedError(_unsupported(symbol)) from exc
    else:
        instruments = await service.market_instruments(tx)
    start = end = None
    if start_raw:
        start = parse_datetime("start_datetime", start_raw)
        began = await service.collection_start(tx, instruments)
        if began is not None:
            began_at = naive(from_us(began)).replace(microsecond=0)
            if naive(start) < began_at:
                raise SeedError(
                    f"Data collection started from {began_at}, "
                    "but the specified start_datetime precedes that"
                )
    if end_raw:
        end = parse_datetime("end_datetime", end_raw)
        now = datetime.now(UTC)
        if end >= now:
            raise SeedError(
                f"The specified end_datetime {naive(end)} "
                f"must be lesser than current datetime {naive(now)}"
            )
    if start is not None and end is not None and start > end:
        raise SeedError(
            f"The specified end_datetime {naive(end)} "
            f"fails to fall after the start_datetime {naive(start)}"
        )
    return _Filters(
        instruments,
        None if start is None else start_us(start),
        None if end is None else end_us(end),
    )


def _price_item(inst: InstrumentInfo, trade_id: int, ts: int, price: float) -> CryptoPriceOut:
    return CryptoPriceOut(id=trade_id, datetime=_seed_datetime(ts), symbol=inst.symbol, price=price)


def _unsupported(symbol: str | None) -> str:
    # The seed formats a missing symbol as `None`.
    return f"The given cryptocurrency pair {symbol} is either not supported or invalid"


def _seed_datetime(ts: int) -> str:
    """Seed 004's naive ISO datetime, whole seconds (its trades were stored per second)."""
    return naive(from_us(ts)).replace(microsecond=0).isoformat()


def _error_004(message: str) -> JSONResponse:
    return ENVELOPE.error(400, message)
