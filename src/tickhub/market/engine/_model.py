"""One bid's rows and features: the buyer's own lags (from the horizon on, plus the same
time yesterday and last week), the time of day, and each candidate seller's lags, with the
noise E that degrades the seller columns (standard normal, the bid's seed)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tickhub.market.engine._align import AlignedSeries, Floats, Grid, Ints

MIN_TRAIN = 48  # training rows needed to value data; fewer: buyer-only forecast, no sale
MIN_TEST = 12  # held-out rows needed likewise


@dataclass(frozen=True)
class Rows:
    """Grid indices of a bid's training, held-out and forecast rows."""

    train: Ints
    test: Ints
    forecast: Ints

    @classmethod
    def of(cls, grid: Grid, target: Floats) -> Rows:
        index = np.arange(grid.n, dtype=np.int64)
        known = np.isfinite(target)
        train = index[(index >= grid.first_target) & (index < grid.split) & known]
        test = index[(index >= grid.split) & (index <= grid.launch) & known]
        forecast = index[grid.launch + 1 :]
        return cls(train=train, test=test, forecast=forecast)


def lagged(series: Floats, rows: Ints, lags: Sequence[int]) -> Floats:
    return np.stack([series[rows - lag] for lag in lags], axis=1)


def own_features(aligned: AlignedSeries, buyer: int, rows: Ints) -> Floats:
    """Intercept, the buyer's own lags, and the time of day (sine and cosine)."""
    grid = aligned.grid
    z = aligned.z(buyer)
    if z is None:
        z = np.zeros(grid.n)
    seconds = (grid.start + grid.step * rows) % 86_400
    angle = 2 * np.pi * seconds / 86_400
    return np.column_stack(
        [np.ones(rows.size), lagged(z, rows, grid.own_lags), np.sin(angle), np.cos(angle)]
    )


def select_sellers(
    aligned: AlignedSeries, candidates: Sequence[int], y: Floats, rows: Ints, limit: int
) -> list[int]:
    """The `limit` candidates whose first lag correlates most with the centred target on
    the training rows (ties: lower resource id first); uncorrelated ones are left out."""
    ids, matrix = aligned.matrix()
    position = {r: i for i, r in enumerate(ids)}
    usable = [r for r in candidates if r in position]
    if not usable or limit <= 0 or rows.size == 0:
        return []
    x = matrix[[position[r] for r in usable]][:, rows - aligned.grid.horizon]
    norms = np.linalg.norm(x, axis=1) * max(float(np.linalg.norm(y)), 1e-300)
    score = np.abs(x @ y) / np.where(norms > 0, norms, np.inf)
    order = sorted(range(len(usable)), key=lambda i: (-score[i], usable[i]))
    return [usable[i] for i in order[:limit] if score[i] > 1e-9]


@dataclass(frozen=True)
class Design:
    """Features of the training (a), held-out (b) and forecast (c) rows; the noise E on
    the seller columns (zero on the buyer's); the centred target."""

    x: Floats  # rows: train, test, forecast
    noise: Floats
    y: Floats  # train then test, centred on the training mean
    y_mean: float
    n_train: int
    n_test: int
    n_own: int
    groups: tuple[Ints, ...]  # each seller's columns

    @property
    def n_fit(self) -> int:
        return self.n_train + self.n_test


def build_design(
    aligned: AlignedSeries,
    buyer: int,
    sellers: Sequence[int],
    rows: Rows,
    rng: np.random.Generator,
) -> Design:
    grid = aligned.grid
    target = aligned.raw(buyer)
    all_rows = np.concatenate([rows.train, rows.test, rows.forecast])
    blocks = [own_features(aligned, buyer, all_rows)]
    n_own = blocks[0].shape[1]
    groups: list[Ints] = []
    column = n_own
    for seller in sellers:
        z = aligned.z(seller)
        assert z is not None  # selected sellers are usable
        blocks.append(lagged(z, all_rows, grid.seller_lags))
        groups.append(np.arange(column, column + len(grid.seller_lags), dtype=np.int64))
        column += len(grid.seller_lags)
    x = np.hstack(blocks)
    noise = rng.standard_normal(x.shape)
    noise[:, :n_own] = 0.0
    fit_rows = np.concatenate([rows.train, rows.test])
    y_mean = float(target[rows.train].mean()) if rows.train.size else 0.0
    return Design(
        x=x,
        noise=noise,
        y=target[fit_rows] - y_mean,
        y_mean=y_mean,
        n_train=rows.train.size,
        n_test=rows.test.size,
        n_own=n_own,
        groups=tuple(groups),
    )
