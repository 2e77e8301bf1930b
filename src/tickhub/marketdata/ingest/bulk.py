"""`tickhub import`: bulk-load a trade file through the writer, with a progress bar.

Idempotent like every write: ids already covered are set aside, so a second import of the
same file changes nothing, and a file that overlaps what the tracker stored fills only
the holes. The database (engine, migrations) is the composition root's: `bootstrap`
hands in the writer.
"""

from __future__ import annotations

from typing import Protocol

from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from tickhub.marketdata.events import TradeBatch
from tickhub.marketdata.ingest.importer import TradeReader
from tickhub.marketdata.ingest.normalize import split_symbol


class WriteCounts(Protocol):
    @property
    def new(self) -> int: ...

    @property
    def duplicates(self) -> int: ...


class TradeWriter(Protocol):
    """What an import writes through: the store's `Writer` (named here, so the pipeline's
    input side does not import its storage side, which imports it)."""

    @property
    def stats(self) -> WriteCounts: ...

    async def write(self, batch: TradeBatch) -> int: ...


async def run_import(
    reader: TradeReader,
    writer: TradeWriter,
    *,
    exchange: str,
    symbol: str,
    show_progress: bool = True,
) -> str:
    """Load what `reader` reads as trades of `symbol` on `exchange` through `writer`;
    returns a one-line summary.

    Raises `importer.ImportFormatError` (line and column) on bad data; what was written
    before it stays written and a later import goes on from there.
    """
    base, quote = split_symbol(symbol)
    size = DownloadColumn() if reader.unit == "bytes" else MofNCompleteColumn()
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        size,
        TransferSpeedColumn() if reader.unit == "bytes" else TextColumn(""),
        TimeRemainingColumn(),
        disable=not show_progress,
    ) as bar:
        task = bar.add_task(f"{exchange}:{symbol}", total=reader.total)
        for trades in reader:
            await writer.write(
                TradeBatch(exchange, symbol, tuple(trades), base, quote, exchange == "sim")
            )
            bar.update(task, completed=reader.done)
        bar.update(task, completed=reader.done)
    s = writer.stats
    return (
        f"{reader.path.name}: {reader.rows:,} trades read, {s.new:,} new, "
        f"{s.duplicates:,} already stored ({exchange}:{symbol})"
    )
