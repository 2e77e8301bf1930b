"""Read trade files for `tickhub import`: parsing only, no database, no CLI.

Formats (`fmt`, else the extension; gzip, zip and Parquet are also known by their first bytes):

- ``csv``: Binance public-data trades without a header (``id, price, qty, quoteQty, time,
  isBuyerMaker[, isBestMatch]``; 6 columns in older futures files), or any CSV with a header
  row. The first row is a header when its first field is not a number. ``.csv.gz`` and a
  ``.zip`` holding exactly one file (how data.binance.vision ships) are read as they are.
- ``jsonl`` (``.jsonl``, ``.ndjson``): one JSON object per line.
- ``parquet``: flat columns; timestamp columns are taken as UTC.

Columns are found by name (case, ``_``, ``-`` and spaces ignored; one-letter names are
matched exactly, as in Binance's stream payloads). When several aliases are present the
first in this list wins:

- trade id: ``id``, ``trade_id``, ``t``
- price: ``price``, ``p``
- quantity: ``qty``, ``quantity``, ``amount``, ``size``, ``q``
- time: ``time``, ``timestamp``, ``ts``, ``trade_time``, ``datetime``, ``T``. Epoch numbers
  are read by magnitude, value by value: below 1e11 seconds, below 1e14 milliseconds, below
  1e17 microseconds, else nanoseconds (so Binance's 2025 switch from ms to µs needs no
  flag; epoch milliseconds before 1973-03 would be misread as seconds). Fractions are
  allowed and truncated to the microsecond. ISO-8601 strings without an offset are UTC.
- buyer-is-maker (optional): ``is_buyer_maker``, ``m`` (true/false/1/0); ``side`` or
  ``taker_side``: the taker's side, ``sell``/``s`` means the buyer was the maker (ccxt,
  Bybit, OKX, Kraken); ``maker_side``: the maker's side, ``buy``/``b`` means the buyer was
  the maker (Coinbase's feed reports the maker side: rename its ``side`` to
  ``maker_side``). A blank value means unknown.

A file without a trade-id column is refused. Storage is keyed by (exchange, symbol,
trade_id) and gaps are found from consecutive ids, so an id made up here (row number, hash
of the fields) would either merge distinct trades that share a price, size and
microsecond, or collide between files of the same instrument, and in both cases trades
would be dropped silently as duplicates.

Bad data raises `ImportFormatError` naming the line (1-based physical line for text files,
1-based row for Parquet) and the column; nothing is skipped. Prices must be finite and
positive, quantities finite and non-negative, ids in 0..2**63-1, times not before 1970.

Speed: CSV goes through pyarrow's multithreaded reader and Parquet through its batches,
with columns converted in bulk. When a block cannot be converted that way (a bad value, a
spelling pyarrow refuses), CSV is re-read with the `csv` module, skipping the rows already
produced; that path defines the semantics and finds the exact line of an error. JSONL is
parsed line by line with orjson.

Progress: `TradeReader` exposes `total` and `done` in `unit`: "bytes" for text files (of
the file on disk, gzip included; of the uncompressed member for a zip), "rows" for Parquet
(from its metadata). For CSV, `done` runs up to ~40 MB ahead of the batches (pyarrow reads
ahead) and starts over if the file falls back to the `csv` module. With rich::

    reader = TradeReader(path)
    size = DownloadColumn() if reader.unit == "bytes" else MofNCompleteColumn()
    with Progress(BarColumn(), size, TimeRemainingColumn()) as bar:
        task = bar.add_task("import", total=reader.total)
        for batch in reader:
            ...  # write the batch
            bar.update(task, completed=reader.done)
        bar.update(task, completed=reader.done)  # == total once the loop is over
"""

from tickhub.marketdata.ingest.importer._reader import (
    FORMATS,
    TradeReader,
    count_rows,
    read_trades,
)
from tickhub.marketdata.ingest.importer._values import ImportFormatError

__all__ = ["FORMATS", "ImportFormatError", "TradeReader", "count_rows", "read_trades"]
