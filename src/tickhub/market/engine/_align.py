"""Put every series on one buyer's time grid: resample, cut at the launch, standardise."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tickhub.market.engine._types import ClearingParams, Measurements

DAY = 86_400
WEEK = 7 * DAY

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Grid:
    """Regular times `start + k * step` (multiples of `step`), k = 0..n-1.

    `launch` is the index of the last grid time <= launch_time: what is known when the
    session runs. Rows after it are the forecast's times; `lags` are the feature lags in
    steps; the grid starts early enough that every training row has all its lags."""

    step: int
    start: int
    n: int
    launch: int
    horizon: int  # h: the lag (in steps) from which every feature is known at launch
    first_target: int  # index of the first training row
    split: int  # index of the first held-out row
    forecast: int  # number of forecast rows after `launch`
    own_lags: tuple[int, ...]
    seller_lags: tuple[int, ...]

    def times(self) -> Ints:
        return self.start + self.step * np.arange(self.n, dtype=np.int64)


def make_grid(interval_min: int, params: ClearingParams) -> Grid:
    step = interval_min * 60
    horizon_s = params.horizon_h * 3600
    h = max(1, -(-horizon_s // step))  # ceil: a lag of h steps is known at launch
    own = list(range(h, h + params.own_lags))
    for season in (DAY // step, WEEK // step):  # same time yesterday, last week
        if season > own[-1]:
            own.append(season)
    sellers = tuple(range(h, h + params.seller_lags))
    max_lag = max(own[-1], sellers[-1])
    last_known = params.launch_time // step * step
    forecast = (params.launch_time + horizon_s) // step - params.launch_time // step
    train_steps = max(2, params.train_days * DAY // step)
    holdout_steps = max(1, min(params.holdout_days * DAY // step, train_steps - 1))
    first_target_time = last_known - (train_steps - 1) * step
    start = first_target_time - max_lag * step
    launch = (last_known - start) // step
    return Grid(
        step=step,
        start=start,
        n=launch + 1 + forecast,
        launch=launch,
        horizon=h,
        first_target=max_lag,
        split=launch + 1 - holdout_steps,
        forecast=forecast,
        own_lags=tuple(own),
        seller_lags=sellers,
    )


def resample(series: Measurements, grid: Grid) -> Floats:
    """The series on the grid, NaN where unknown. A grid time t holds the mean of the
    values measured in (t - step, t] (so it is known at t); a coarser series' value is
    carried forward over its own interval. Nothing after the launch is used."""
    last = grid.start + grid.launch * grid.step
    times = np.asarray(series.times, dtype=np.int64)
    values = np.asarray(series.values, dtype=np.float64)
    keep = (times > grid.start - grid.step) & (times <= last) & np.isfinite(values)
    times, values = times[keep], values[keep]
    out = np.full(grid.n, np.nan)
    if times.size == 0:
        return out
    bucket = -((grid.start - times) // grid.step)  # ceil((t - start) / step)
    sums = np.bincount(bucket, weights=values, minlength=grid.n)[: grid.n]
    counts = np.bincount(bucket, minlength=grid.n)[: grid.n]
    has = counts > 0
    out[has] = sums[has] / counts[has]
    ratio = series.interval_min * 60 // grid.step
    if ratio > 1:
        index = np.arange(grid.n)
        seen = np.maximum.accumulate(np.where(has, index, -1))
        fill = (~has) & (seen >= 0) & (index - seen < ratio) & (index <= grid.launch)
        out[fill] = out[seen[fill]]
    return out


def standardise(raw: Floats, grid: Grid) -> Floats | None:
    """(x - mean) / std over the known part of the grid, 0 (the mean) where unknown;
    None when the series is constant or absent there."""
    known = raw[: grid.launch + 1]
    finite = known[np.isfinite(known)]
    if finite.size < 2:
        return None
    mean = float(finite.mean())
    std = float(finite.std())
    if not std > 1e-12 * max(1.0, abs(mean)):
        return None
    z = (raw - mean) / std
    return np.where(np.isfinite(z), z, 0.0)


class AlignedSeries:
    """Every resource resampled and standardised on one grid, computed once per interval
    and shared by the bids at that interval."""

    def __init__(self, grid: Grid, data: dict[int, Measurements]) -> None:
        self.grid = grid
        self._data = data
        self._raw: dict[int, Floats] = {}
        self._z: dict[int, Floats | None] = {}
        self._matrix: tuple[tuple[int, ...], Floats] | None = None

    def raw(self, resource_id: int) -> Floats:
        if resource_id not in self._raw:
            self._raw[resource_id] = resample(self._data[resource_id], self.grid)
        return self._raw[resource_id]

    def z(self, resource_id: int) -> Floats | None:
        if resource_id not in self._z:
            self._z[resource_id] = standardise(self.raw(resource_id), self.grid)
        return self._z[resource_id]

    def matrix(self) -> tuple[tuple[int, ...], Floats]:
        """The usable resources (ascending id) and their standardised series, one row each."""
        if self._matrix is None:
            ids = tuple(r for r in sorted(self._data) if self.z(r) is not None)
            rows = [z for r in ids if (z := self.z(r)) is not None]
            stacked = np.vstack(rows) if rows else np.zeros((0, self.grid.n))
            self._matrix = (ids, stacked)
        return self._matrix
