"""Many conditions over one instrument's candle history at once. Pure: no I/O.

Every strategy of an (instrument, interval) group reads the same candles, so they share
one `language.Evaluation`: each sub-expression is computed once, whichever conditions
use it, and booleans only at the candles being decided (usually just the one that
closed). The language owns the semantics; this module picks the rows, applies first rows,
windows and cooldowns, and shapes the alert values. The live scanner and the backtest
both decide through `find_alerts`, so they raise the same alerts on the same candles.

Windows (`_window`): indicators such as `ema` or `rsi` depend on where their history
starts, so a candle is always decided over the same candles whoever decides it, however
many candles are decided at once: its window (see `window_from`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from tickhub.alerts.language import Condition, Evaluation, parse
from tickhub.alerts.scanner._window import block_start

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

CANDLE_SERIES = ("open", "high", "low", "close", "volume", "vwap", "trade_count")


@lru_cache(maxsize=65_536)
def parsed(source: str) -> Condition:
    """`parse`, remembered: strategies are re-read every scan but rarely change."""
    return parse(source)


def evaluate_many(
    conditions: Sequence[Condition], candles: Mapping[str, npt.ArrayLike], rows: npt.ArrayLike
) -> Bools:
    """Each condition at each of `rows`: shape (len(conditions), len(rows))."""
    shared = Evaluation(candles, rows)
    out = np.zeros((len(conditions), shared.rows.size), dtype=np.bool_)
    for k, condition in enumerate(conditions):
        out[k] = shared.decide(condition)
    return out


def alert_values(shared: Evaluation, condition: Condition, index: int) -> dict[str, float | None]:
    """`language.explain` at candle `index`, from the shared numbers; a value that is not
    finite (warm-up, division by zero) is None, as the alert stores and shows it."""
    return {
        name: value if math.isfinite(value) else None
        for name, value in shared.explain(condition, index).items()
    }


# ----------------------------------------------------------------- one group's alerts


@dataclass(frozen=True, slots=True)
class Job:
    """One strategy on this instrument: decide the candles from row `first` on."""

    condition: str  # source text; parsed (and cached) where it is evaluated
    first: int
    cooldown_us: int
    last_alert: int | None  # close time of the strategy's last alert here, µs
    window: int = 0  # candles of its window (`_window.window_length`); 0: the whole request


@dataclass(frozen=True, slots=True)
class Hit:
    """Job `job` alerts on the candle at `row`, with the values that made it true."""

    job: int
    row: int
    values: dict[str, float | None]


@dataclass(frozen=True, slots=True)
class GroupRequest:
    """Everything a worker process needs to evaluate one group (picklable)."""

    candles: dict[str, Floats]
    closes: npt.NDArray[np.int64]  # each candle's close time, µs
    jobs: tuple[Job, ...]
    interval_us: int = 0  # the candles' interval; needed by jobs with a `window`


def find_alerts(request: GroupRequest) -> list[Hit]:
    """The alerts of a group: every true candle at or after a job's `first` row that is
    out of its cooldown (measured from the previous alert, including ones raised here).
    A job with a `window` decides each candle over that candle's window only."""
    whole = tuple(k for k, j in enumerate(request.jobs) if j.window <= 0)
    hits = _renumbered(_in_one_window(_only(request, whole)), whole)
    by_window: dict[int, list[int]] = {}
    for k, job in enumerate(request.jobs):
        if job.window > 0:
            by_window.setdefault(job.window, []).append(k)
    for length, ks in sorted(by_window.items()):
        hits.extend(_windowed(request, tuple(ks), length))
    if by_window:
        hits.sort(key=lambda h: (h.job, h.row))
    return hits


def _only(request: GroupRequest, ks: Sequence[int]) -> GroupRequest:
    jobs = tuple(request.jobs[k] for k in ks)
    return GroupRequest(request.candles, request.closes, jobs, request.interval_us)


def _renumbered(hits: list[Hit], ks: Sequence[int]) -> list[Hit]:
    return [Hit(ks[h.job], h.row, h.values) for h in hits]


def _windowed(request: GroupRequest, ks: tuple[int, ...], length: int) -> list[Hit]:
    """The hits of jobs `ks`, all of window `length`, block by block: the candles of one
    block share one window, so one evaluation decides them all."""
    step = request.interval_us
    if step <= 0:
        raise ValueError("jobs with a window need the request's interval_us")
    closes = request.closes
    starts = closes - step
    n = int(closes.shape[0])
    last = {k: request.jobs[k].last_alert for k in ks}
    hits: list[Hit] = []
    row = min(request.jobs[k].first for k in ks)
    row = max(row, 0)
    while row < n:
        first_start = block_start(int(starts[row]), step, length)
        lo = int(np.searchsorted(starts, first_start - length * step, side="left"))
        top = int(np.searchsorted(starts, first_start + length * step, side="left"))
        jobs = tuple(
            Job(j.condition, max(j.first, row) - lo, j.cooldown_us, last[k])
            for k in ks
            for j in (request.jobs[k],)
        )
        part = GroupRequest(
            {name: series[lo:top] for name, series in request.candles.items()},
            closes[lo:top],
            jobs,
        )
        for h in _in_one_window(part):
            k = ks[h.job]
            last[k] = int(closes[h.row + lo])
            hits.append(Hit(k, h.row + lo, h.values))
        row = top
    return hits


def _in_one_window(request: GroupRequest) -> list[Hit]:
    jobs = request.jobs
    length = int(request.closes.shape[0])
    if not jobs or length == 0:
        return []
    lowest = min(j.first for j in jobs)
    if lowest >= length:
        return []
    rows = np.arange(max(lowest, 0), length, dtype=np.intp)
    shared = Evaluation(request.candles, rows)
    base = int(rows[0])
    closes = request.closes
    hits: list[Hit] = []
    for k, job in enumerate(jobs):
        if job.first >= length:
            continue
        condition = parsed(job.condition)
        true = shared.decide(condition)[job.first - base :]
        if not true.any():
            continue
        last = job.last_alert
        for offset in np.flatnonzero(true).tolist():
            row = job.first + offset
            close = int(closes[row])
            if last is not None and close - last < job.cooldown_us:
                continue
            last = close
            hits.append(Hit(k, row, alert_values(shared, condition, row)))
    return hits
