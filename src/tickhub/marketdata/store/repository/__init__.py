"""The market-data store at SQLAlchemy Core level, in two halves: `MarketDataWrites`, the
writer's path, and `MarketDataReads`, what the services ask. Neither commits: the
caller's unit of work (`marketdata.store.uow`) owns the transaction."""

from tickhub.marketdata.store.repository._reads import MarketDataReads
from tickhub.marketdata.store.repository._records import InstrumentInfo, Latest, PriceColumns
from tickhub.marketdata.store.repository._tables import (
    assets_t,
    candles_t,
    coverage_t,
    exchanges_t,
    instruments_t,
    latest_t,
    rejected_t,
    trades_t,
)
from tickhub.marketdata.store.repository._writes import MarketDataWrites

__all__ = [
    "InstrumentInfo",
    "Latest",
    "MarketDataReads",
    "MarketDataWrites",
    "PriceColumns",
    "assets_t",
    "candles_t",
    "coverage_t",
    "exchanges_t",
    "instruments_t",
    "latest_t",
    "rejected_t",
    "trades_t",
]
