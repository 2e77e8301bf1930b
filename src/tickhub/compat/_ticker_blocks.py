"""Seed 004's statistics answer built from the prices kept by closed minute
(`PriceBlocks`): a window of at most `BLOCK_WINDOW` with both ends given reads only the
minutes it does not find in memory (its partial first and last minutes, the open one,
those a write dropped) and encodes only those; the rest of the body is the kept text of
each minute, joined. The answer is the same bytes as the streamed one
(`_ticker_stream`), which answers every other window, and the one used when the cache is
off.

The fetch is a short unit of work of its own, opened after the reader was taken: a
minute written after the reader was taken is never kept stale.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from tickhub.compat._ticker_json import price_pieces
from tickhub.compat._ticker_params import SeedError
from tickhub.compat._ticker_stream import tail
from tickhub.deps import EngineDep
from tickhub.marketdata import service
from tickhub.marketdata.deps import open_reads
from tickhub.marketdata.live.priceblocks import PriceBlocks
from tickhub.marketdata.service import InstrumentInfo, PriceColumns

BLOCK_WINDOW = 2 * 86_400 * 1_000_000
"""The longest window (µs) answered from minute blocks: 2,880 of them at most."""
FORM = "crypto_price"
"""The blocks' format: seed 004's price items."""

NO_DATA = "No matching data found"


def too_many() -> str:
    return (
        f"More than {service.MAX_SEED_PRICES} prices match: narrow start_datetime and end_datetime"
    )


def fits(start: int, end: int) -> bool:
    """Whether the window [start, end] (inclusive) is answered from minute blocks."""
    return 0 <= end - start < BLOCK_WINDOW


async def statistics_from_blocks(
    engine: EngineDep, blocks: PriceBlocks, inst: InstrumentInfo, start: int, end: int
) -> bytes:
    """`CryptoPriceStatisticsOut`'s body over [start, end] (inclusive, a window that
    `fits`); no price or more than `MAX_SEED_PRICES` is a `SeedError` with the seed's
    message."""
    reader = blocks.reader(inst, FORM)  # before the unit of work that fetches opens

    def encode(rows: PriceColumns, cuts: Sequence[int]) -> list[bytes]:
        return price_pieces(inst.symbol, rows.ids, rows.times, rows.prices, cuts)

    async with open_reads(engine) as tx:
        pieces = await reader.read(
            start,
            end + 1,
            partial(service.price_span, tx, inst),
            encode,
            limit=service.MAX_SEED_PRICES,
        )
    if pieces is None:
        raise SeedError(too_many())
    if not any(p.n for p in pieces):
        raise SeedError(NO_DATA)
    parts = [b'{"crypto_prices":[']
    for p in pieces:
        if p.items:
            parts += (p.items, b",")
    parts[-1] = tail([p.prices for p in pieces if p.n])  # the last comma's place
    return b"".join(parts)  # the body's one copy (a piece may be the whole window)
