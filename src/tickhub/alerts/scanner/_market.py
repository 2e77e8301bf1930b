"""The market series a group's conditions name (CoinMarketCap's global metrics, a coin's
listing fields), read through the market-data service and aligned to the candle closes:
only when some condition uses them, so a scan of candle-only conditions reads nothing
more."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

from tickhub.alerts.language import LISTING_SERIES, MARKET_SERIES, Condition
from tickhub.marketdata import service

Floats = npt.NDArray[np.float64]
US = 1_000_000


def market_names(conditions: Iterable[Condition]) -> frozenset[str]:
    """The market and listing series any of `conditions` reads."""
    wanted = MARKET_SERIES | LISTING_SERIES
    return frozenset().union(*(c.series & wanted for c in conditions))


async def market_inputs(
    market: service.MarketReads,
    instrument: Any,
    names: frozenset[str],
    closes: npt.NDArray[np.int64],
) -> tuple[dict[str, Floats], dict[str, Floats]]:
    """The series `names` at each of `closes` (µs), and each value's age in seconds at
    its close (NaN where there is no value yet): the evaluation's extra series and its
    `ages`."""
    if not names:
        return {}, {}
    found = await service.cmc_series(market, names, closes, instrument=instrument)
    series: dict[str, Floats] = {}
    ages: dict[str, Floats] = {}
    for name, aligned in found.items():
        series[name] = aligned.values
        known = aligned.as_of != service.NO_VALUE
        ages[name] = np.where(known, (closes - aligned.as_of) / US, np.nan)
    return series, ages
