"""The query planner's statistics after a bulk load.

PostgreSQL's autovacuum analyses a partition once enough of its rows have changed, but
only after its next round, and it never analyses a partitioned parent (`trades`) at all:
right after `tickhub import` has loaded millions of trades, the planner would estimate
the reads of the serving routes from no statistics. SQLite's planner uses none here (no
`sqlite_stat1` is kept, so its plans stay the ones the indexes were designed for).
"""

from __future__ import annotations

import logging
import time

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

# The tables a bulk load fills: the trades, their rollups and the latest prices.
ANALYZED = ("trades", "candles", "latest_prices")


async def refresh_planner_statistics(engine: AsyncEngine) -> bool:
    """ANALYZE what a bulk load filled (PostgreSQL; nothing to do on SQLite). Returns
    whether statistics were refreshed."""
    if engine.dialect.name != "postgresql":
        return False
    started = time.perf_counter()
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f"ANALYZE {', '.join(ANALYZED)}"))
    log.info("planner statistics refreshed in %.1f s", time.perf_counter() - started)
    return True
