"""Seed 004's statistics answer, streamed: `{"crypto_prices": [...], "total_count", ...}`
written as the prices are read, in keyset chunks of `service.SEED_CHUNK`, each read as
columns (`service.PriceColumns`) and sent as one piece: the opening goes with the first
chunk and the statistics with the last, so an answer of one chunk is one send.

Each chunk is a short read of its own (no connection is held while a chunk is sent).
On PostgreSQL the next chunk is read while the current one is encoded and sent: the
server's work and the encoding overlap instead of taking turns. Not on SQLite: its reads
run on aiosqlite's thread, which gives up and takes back the GIL for every row, so a
read beside busy Python code in the event loop waits its turn at each row (a day's
86,400 rows went from ~0.15 s to ~0.8–1 s of wall time that way). A client that leaves
closes the body (`ClosingStreamingResponse`), which waits for any read in flight, so the
connection is back in the pool when the answer ends.

An answer that may be kept (`Keep`: its window has closed) is gathered as it is sent and
handed whole to the read cache only when it ended normally within the cache's size
limit; a client that leaves, a failed read or a larger body leaves nothing kept.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing
from dataclasses import dataclass

import anyio
import numpy as np
import numpy.typing as npt
import orjson
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from tickhub.compat._ticker_json import price_items
from tickhub.deps import EngineDep
from tickhub.marketdata import service
from tickhub.marketdata.deps import open_reads
from tickhub.marketdata.service import InstrumentInfo, PriceColumns


@dataclass(frozen=True, slots=True)
class Keep:
    """Where a whole streamed body goes (`put`) when it is at most `limit` bytes."""

    put: Callable[[bytes], None]
    limit: int


class ClosingStreamingResponse(StreamingResponse):
    """A `StreamingResponse` that closes its body iterator when it ends, however it ends
    (Starlette leaves an abandoned generator to the garbage collector)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            close = getattr(self.body_iterator, "aclose", None)
            if close is not None:
                with anyio.CancelScope(shield=True):
                    await close()


def statistics_response(
    engine: EngineDep,
    inst: InstrumentInfo,
    start: int | None,
    end: int | None,
    first: PriceColumns,
    *,
    more: bool,
    keep: Keep | None = None,
) -> StreamingResponse:
    """The answer whose first chunk of prices, `first`, is already read (`more`: whether
    more may follow it); gathered for `keep` when given."""
    body = statistics_body(engine, inst, start, end, first, more=more)
    return ClosingStreamingResponse(
        body if keep is None else kept(body, keep), media_type="application/json"
    )


async def kept(body: AsyncGenerator[bytes, None], keep: Keep) -> AsyncIterator[bytes]:
    """`body`'s chunks, passed on as they come; the whole body goes to `keep.put` once
    the last chunk is out, unless it grew past `keep.limit` (then nothing more is held).
    Closing this closes `body`."""
    parts: list[bytes] = []
    size = 0
    async with aclosing(body):
        async for part in body:
            size += len(part)
            if size <= keep.limit:
                parts.append(part)
            elif parts:
                parts.clear()
            yield part
    if size <= keep.limit:
        keep.put(b"".join(parts))


async def _read_chunk(
    engine: EngineDep,
    inst: InstrumentInfo,
    start: int | None,
    end: int | None,
    after: tuple[int, int],
    listed: int,
) -> tuple[PriceColumns, bool]:
    # Shielded: a client that leaves never cancels a read half way, so the connection
    # goes back clean.
    found: tuple[PriceColumns, bool] = (PriceColumns.of_rows([]), False)
    with anyio.CancelScope(shield=True):
        async with open_reads(engine) as tx:
            found = await service.price_chunk(tx, inst, start, end, after=after, listed=listed)
    return found


async def statistics_body(
    engine: EngineDep,
    inst: InstrumentInfo,
    start: int | None,
    end: int | None,
    first: PriceColumns,
    *,
    more: bool,
) -> AsyncGenerator[bytes, None]:
    """`CryptoPriceStatisticsOut`'s shape, written as the prices are read: the list
    first (from `first` on), then the statistics over what was listed."""
    prices: list[npt.NDArray[np.float64]] = []
    opening = b'{"crypto_prices":['
    listed = 0
    overlap = engine.dialect.name != "sqlite"
    part = first
    pending: asyncio.Task[tuple[PriceColumns, bool]] | None = None
    try:
        while part:
            listed += len(part)
            if more:
                after = (int(part.times[-1]), int(part.ids[-1]))
                pending = asyncio.ensure_future(
                    _read_chunk(engine, inst, start, end, after, listed)
                )
                if not overlap:
                    await asyncio.wait([pending])
            prices.append(part.prices)
            items = price_items(inst.symbol, part.ids, part.times, part.prices)
            if pending is None:  # the last chunk: the statistics go with it
                yield opening + items + tail(prices)
                return
            yield opening + items
            opening = b","
            with anyio.CancelScope(shield=True):
                part, more = await pending
            pending = None
    finally:
        if pending is not None:  # the answer stopped early: let the read end
            with anyio.CancelScope(shield=True):
                await asyncio.wait([pending])
    # An empty first chunk (the opening is still to send), or an empty one after a full one.
    yield (b"" if prices else opening) + tail(prices)


def tail(prices: list[npt.NDArray[np.float64]]) -> bytes:
    """`],"total_count":…}`: the statistics over the listed prices."""
    if prices:
        s = service.summarize(np.concatenate(prices))
        tail = {
            "total_count": s.count,
            "average_price": s.mean,
            "median_price": s.median,
            "standard_deviation": s.pstdev,
            "percentage_change": s.change_pct,
        }
    else:  # an empty first chunk
        tail = {"total_count": 0, "average_price": 0.0, "median_price": 0.0,
                "standard_deviation": 0.0, "percentage_change": 0.0}  # fmt: skip
    return b"]," + orjson.dumps(tail)[1:]
