"""Which candles a decision reads: its window. Pure: no I/O.

Indicators such as `ema`, `rsi`, `macd` and `atr` are recursive: their value at a candle
depends on the first candle of the history they were computed over. So that a candle's
decision never depends on who decides it (the live scanner one close at a time, a
catch-up after a stop, or a backtest over a year), the history is fixed by the candle
alone. Candles are grouped in blocks of `length` candles, aligned on the Unix epoch; a
candle of a block is decided over the candles from `length` candles before its block's
first candle up to itself. Every candle therefore sees at least `length` candles of
history (`length` is the scanner's `history`, or the condition's lookback if that is
longer), and all candles of a block share one evaluation, so a backtest evaluates about
twice the candles it decides, not `length` times.

Time based: candles missing from the store (no trade in a bucket) leave the window
shorter, for the live scanner and the backtest alike.
"""

from __future__ import annotations

# The longest window: twice it (a block and the one before) stays within what one read
# of the market-data service returns (`MAX_CANDLES`).
MAX_WINDOW = 4_000


def window_length(lookback: int, history: int) -> int:
    """Candles of history before a block: the scanner's `history`, or the condition's
    `lookback` (candles it needs to be defined) when that is longer."""
    return max(1, min(MAX_WINDOW, max(history, lookback)))


def block_start(candle_start: int, interval_us: int, length: int) -> int:
    """The start of the first candle of the block holding the candle at `candle_start`
    (blocks of `length` intervals, aligned on the epoch), µs."""
    span = length * interval_us
    return candle_start - candle_start % span


def window_from(candle_start: int, interval_us: int, length: int) -> int:
    """The earliest candle start of the window of the candle at `candle_start`, µs: the
    candles read to decide it start at or after this, and at or before it."""
    return block_start(candle_start, interval_us, length) - length * interval_us
