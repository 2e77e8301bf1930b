"""Seed 004's statistics answers kept whole in the read cache (`ReadCache`): the key of
an answer, the lookup that finds one without the database, and where an answer over a
closed window goes once it is out (`Keep`)."""

from __future__ import annotations

from functools import partial

from tickhub.compat._ticker_params import SeedError, end_us, parse_datetime, start_us
from tickhub.compat._ticker_stream import Keep
from tickhub.marketdata.live.readcache import ReadCache
from tickhub.marketdata.live.snapshot import SnapshotCache
from tickhub.marketdata.service import InstrumentInfo


def statistics_key(inst: InstrumentInfo, start: int | None, end: int) -> tuple[object, ...]:
    return ("crypto_price/statistics", inst.id, start, end)


def cached_statistics(
    cache: SnapshotCache | None,
    answers: ReadCache | None,
    symbol: str,
    start_raw: str | None,
    end_raw: str | None,
) -> bytes | None:
    """The kept answer of a statistics request, found without the database: the
    instrument from the in-memory index, the window parsed as the route parses it. Only
    an answer that passed every check was kept (its window ended before it was read, and
    does not reopen), so any request that misses here is checked in full by the route."""
    index = cache.prices if cache is not None else None
    latest = index.find(symbol) if index is not None else None
    if answers is None or latest is None or not end_raw:
        return None
    try:
        start = start_us(parse_datetime("start_datetime", start_raw)) if start_raw else None
        end = end_us(parse_datetime("end_datetime", end_raw))
    except SeedError:
        return None
    return answers.get(statistics_key(latest.instrument, start, end))


def statistics_keep(
    answers: ReadCache | None,
    inst: InstrumentInfo,
    start: int | None,
    end: int | None,
    generation: int,
) -> Keep | None:
    """Where the answer over [start, end] goes when its window has closed (None when it
    has not, or nothing is kept); `generation` was taken before its prices were read."""
    if answers is None or end is None or not answers.closed(end + 1):
        return None
    window = (inst.exchange, inst.symbol), start or 0, end + 1
    return Keep(partial(answers.put, statistics_key(inst, start, end), *window, generation),
                answers.max_body)  # fmt: skip
