"""Many conditions over one instrument's candle history at once. Pure: no I/O.

Every strategy of an (instrument, interval) group reads the same candles, so they share
one `language.Evaluation`: each sub-expression is computed once, whichever conditions
use it, and booleans only at the candles being decided (usually just the one that
closed). The language owns the semantics; this module picks the rows, applies first rows
and cooldowns, and shapes the alert values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from tickhub.alerts.language import Condition, Evaluation, parse

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


@dataclass(frozen=True, slots=True)
class Hit:
    """Job `job` alerts on the candle at `row`, with the values that made it true."""

    job: int
    row: int
    values: dict[str, float | None]


@dataclass(frozen=True, slots=True)
class GroupRequest:
    """Everything a worker process needs to evaluate one group (picklable)."""

    candles: dict[str, Floats]  # with the market series the conditions read
    closes: npt.NDArray[np.int64]  # each candle's close time, µs
    jobs: tuple[Job, ...]
    ages: dict[str, Floats] = field(default_factory=dict)  # of the market series, s


def find_alerts(request: GroupRequest) -> list[Hit]:
    """The alerts of a group: every true candle at or after a job's `first` row that is
    out of its cooldown (measured from the previous alert, including ones raised here)."""
    jobs = request.jobs
    length = int(request.closes.shape[0])
    if not jobs or length == 0:
        return []
    lowest = min(j.first for j in jobs)
    if lowest >= length:
        return []
    rows = np.arange(max(lowest, 0), length, dtype=np.intp)
    shared = Evaluation(request.candles, rows, ages=request.ages)
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
