"""One bid's models: the design matrix, its Gram matrices, and the gain of a coalition.

The features are the buyer's own lags (from the horizon on, plus the same time yesterday
and last week), the time of day, and each candidate seller's lags; the seller columns get
noise `sigma * E` (E standard normal, fixed seed). Every Gram matrix the fits need is
assembled from three precomputed ones, X'X + sigma (X'E + E'X) + sigma^2 E'E, so a
coalition's fit is a solve on a sub-matrix and its held-out squared error comes from the
held-out Gram matrix; only the absolute error needs the held-out predictions.
"""

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


@dataclass(frozen=True)
class _Gram:
    """X'X, X'E + E'X, E'E and X'y, E'y, y'y over one block of rows."""

    xx: Floats
    cross: Floats
    ee: Floats
    xy: Floats
    ey: Floats
    yy: float

    @classmethod
    def of(cls, x: Floats, e: Floats, y: Floats) -> _Gram:
        xe = x.T @ e
        return cls(x.T @ x, xe + xe.T, e.T @ e, x.T @ y, e.T @ y, float(y @ y))

    def at(self, sigma: float) -> tuple[Floats, Floats]:
        return self.xx + sigma * self.cross + sigma**2 * self.ee, self.xy + sigma * self.ey

    def __add__(self, other: _Gram) -> _Gram:
        return _Gram(
            self.xx + other.xx,
            self.cross + other.cross,
            self.ee + other.ee,
            self.xy + other.xy,
            self.ey + other.ey,
            self.yy + other.yy,
        )


class Valuer:
    """Fits and held-out losses of every coalition at one noise level, memoised by mask
    (bit i set: seller i's columns are in)."""

    def __init__(self, model: ValueModel, sigma: float) -> None:
        self.model = model
        self.sigma = sigma
        self._train = model.train.at(sigma)
        self._test = model.test.at(sigma)
        d = model.design
        test_rows = slice(d.n_train, d.n_fit)
        self._x_test = d.x[test_rows] + sigma * d.noise[test_rows]
        self._losses: dict[int, float] = {}
        self.base = self.loss(0)

    def loss(self, mask: int) -> float:
        if mask in self._losses:
            return self._losses[mask]
        d = self.model.design
        cols = self.model.columns(mask)
        gram, xy = self._train
        beta = self.model.solve(gram[np.ix_(cols, cols)], xy[cols], cols, d.n_train)
        if self.model.gain_func == "mae":
            y_test = d.y[d.n_train :]
            value = float(np.mean(np.abs(y_test - self._x_test[:, cols] @ beta)))
        else:
            t_gram, t_xy = self._test
            sse = self.model.test.yy - 2 * beta @ t_xy[cols]
            sse += beta @ t_gram[np.ix_(cols, cols)] @ beta
            mse = max(float(sse), 0.0) / d.n_test
            value = mse if self.model.gain_func == "mse" else mse**0.5
        self._losses[mask] = value
        return value

    def gain(self, mask: int) -> float:
        """Relative improvement over the buyer-only model: (L0 - L(S)) / L0 (may be < 0)."""
        if self.base <= 0:
            return 0.0
        return (self.base - self.loss(mask)) / self.base


class ValueModel:
    """A bid's design and the Gram matrices of its training and held-out rows."""

    def __init__(self, design: Design, gain_func: str, alpha: float) -> None:
        self.design = design
        self.gain_func = gain_func
        self.alpha = alpha
        d = design
        fit = slice(0, d.n_train)
        test = slice(d.n_train, d.n_fit)
        self.train = _Gram.of(d.x[fit], d.noise[fit], d.y[fit])
        self.test = _Gram.of(d.x[test], d.noise[test], d.y[test])
        self._valuers: dict[float, Valuer] = {}

    def columns(self, mask: int) -> Ints:
        d = self.design
        parts = [np.arange(d.n_own, dtype=np.int64)]
        parts += [g for i, g in enumerate(d.groups) if mask >> i & 1]
        return np.concatenate(parts)

    def solve(self, gram: Floats, xy: Floats, cols: Ints, n_rows: int) -> Floats:
        """Ridge: (G + alpha n P) beta = X'y, P the identity but for the intercept."""
        penalty = np.full(cols.size, self.alpha * max(n_rows, 1))
        penalty[cols == 0] = 0.0
        a = gram + np.diag(penalty)
        try:
            beta = np.linalg.solve(a, xy)
        except np.linalg.LinAlgError:
            beta = np.linalg.lstsq(a, xy, rcond=None)[0]
        return np.asarray(beta, dtype=np.float64)

    def at(self, sigma: float) -> Valuer:
        if sigma not in self._valuers:
            self._valuers[sigma] = Valuer(self, sigma)
        return self._valuers[sigma]

    def forecast(self, mask: int, sigma: float) -> Floats:
        """Refit on the training and held-out rows together; predict the forecast rows."""
        d = self.design
        cols = self.columns(mask)
        gram, xy = (self.train + self.test).at(sigma)
        beta = self.solve(gram[np.ix_(cols, cols)], xy[cols], cols, d.n_fit)
        future = slice(d.n_fit, d.x.shape[0])
        x = d.x[future] + sigma * d.noise[future]
        return np.asarray(x[:, cols] @ beta + d.y_mean, dtype=np.float64)
