"""Fits and held-out losses of a bid's coalitions, many at a time.

Every Gram matrix a fit needs is assembled from matrices computed once per bid over all
the candidate columns, X'X + σ(X'E + E'X) + σ²E'E (X the features, E the noise on the
seller columns), so a coalition's ridge fit is a solve on the sub-matrix of its columns,
and its held-out squared error is (y'y - 2β'X'y + β'X'Xβ) / n from the held-out Gram
matrices; only the absolute error needs the held-out predictions. Coalitions of one size
are solved together (one batched solve), and each is solved once (memoised by mask).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tickhub.market.engine._align import Floats, Ints
from tickhub.market.engine._model import Design

CHUNK_BYTES = 32 * 2**20  # the largest temporary array of a batch


@dataclass(frozen=True)
class Gram:
    """Over one block of rows: the Gram matrices of W = [X | E_s] (E_s the noise on the
    seller columns) and W'y, y'y."""

    ww: Floats
    wy: Floats
    yy: float
    n_x: int
    sellers: Ints  # the columns of X that get noise (those of E_s, in order)

    @classmethod
    def of(cls, x: Floats, e: Floats, y: Floats, sellers: Ints) -> Gram:
        w = np.hstack([x, e[:, sellers]])
        return cls(w.T @ w, w.T @ y, float(y @ y), x.shape[1], sellers)

    def at(self, sigma: float) -> tuple[Floats, Floats]:
        """(X̃'X̃, X̃'y) for X̃ = X + σ E."""
        p, s = self.n_x, self.sellers
        xx = self.ww[:p, :p].copy()
        xy = self.wy[:p].copy()
        if s.size and sigma != 0.0:
            xe = self.ww[:p, p:]
            xx[:, s] += sigma * xe
            xx[s, :] += sigma * xe.T
            xx[np.ix_(s, s)] += sigma**2 * self.ww[p:, p:]
            xy[s] += sigma * self.wy[p:]
        return xx, xy

    def __add__(self, other: Gram) -> Gram:
        return Gram(
            self.ww + other.ww, self.wy + other.wy, self.yy + other.yy, self.n_x, self.sellers
        )


class ValueModel:
    """A bid's design and the Gram matrices of its training and held-out rows."""

    def __init__(self, design: Design, gain_func: str, alpha: float) -> None:
        self.design = design
        self.gain_func = gain_func
        self.alpha = alpha
        d = design
        sellers = np.arange(d.n_own, d.x.shape[1], dtype=np.int64)
        fit, test = slice(0, d.n_train), slice(d.n_train, d.n_fit)
        self.train = Gram.of(d.x[fit], d.noise[fit], d.y[fit], sellers)
        self.test = Gram.of(d.x[test], d.noise[test], d.y[test], sellers)
        self._valuers: dict[float, Valuer] = {}

    def penalty(self, n_rows: int) -> Floats:
        """αn on the diagonal but for the intercept (column 0)."""
        diag = np.full(self.design.x.shape[1], self.alpha * max(n_rows, 1))
        diag[0] = 0.0
        return np.diag(diag)

    def columns(self, masks: Sequence[int]) -> Ints:
        return columns(self.design, masks)

    def at(self, sigma: float) -> Valuer:
        if sigma not in self._valuers:
            self._valuers[sigma] = Valuer(self, sigma)
        return self._valuers[sigma]

    def forecast(self, mask: int, sigma: float) -> Floats:
        """Refit on the training and held-out rows together; predict the forecast rows."""
        d = self.design
        cols = self.columns([mask])[0]
        gram, xy = (self.train + self.test).at(sigma)
        gram = gram + self.penalty(d.n_fit)
        beta = solve(gram[np.ix_(cols, cols)][None], xy[cols][None])[0]
        future = slice(d.n_fit, d.x.shape[0])
        x = d.x[future] + sigma * d.noise[future]
        return np.asarray(x[:, cols] @ beta + d.y_mean, dtype=np.float64)


def columns(design: Design, masks: Sequence[int]) -> Ints:
    """One row per mask, all of one size: the own columns, then each seller's in
    order (bit i set: seller i)."""
    d = design
    width = d.x.shape[1] - d.n_own
    per = len(d.groups[0]) if d.groups else 0
    n = len(d.groups)
    bits = (np.asarray(masks, dtype=np.int64)[:, None] >> np.arange(n)) & 1
    k = int(bits[0].sum()) if n else 0
    sellers = np.nonzero(bits)[1].reshape(len(masks), k)
    own = np.broadcast_to(np.arange(d.n_own), (len(masks), d.n_own))
    theirs = d.n_own + per * sellers[:, :, None] + np.arange(per)
    assert width == per * n
    return np.hstack([own, theirs.reshape(len(masks), k * per)]).astype(np.int64)


def solve(a: Floats, b: Floats) -> Floats:
    """β for each stacked system a β = b (a: (g, p, p), b: (g, p))."""
    try:
        beta = np.linalg.solve(a, b[..., None])[..., 0]
    except np.linalg.LinAlgError:
        beta = np.stack(
            [np.linalg.lstsq(ai, bi, rcond=None)[0] for ai, bi in zip(a, b, strict=True)]
        )
    return np.asarray(beta, dtype=np.float64)


class Valuer:
    """Losses of the coalitions at one noise level σ, memoised by mask."""

    def __init__(self, model: ValueModel, sigma: float) -> None:
        # No reference back to the model: it holds its valuers, and a cycle would keep
        # these arrays alive until the garbage collector happens to run.
        self.sigma = sigma
        self._design = d = model.design
        self._gain_func = model.gain_func
        self._test_yy = model.test.yy
        gram, self._xy = model.train.at(sigma)
        self._gram = gram + model.penalty(d.n_train)
        self._t_gram, self._t_xy = model.test.at(sigma)
        test = slice(d.n_train, d.n_fit)
        self._x_test = d.x[test] + sigma * d.noise[test]
        self._y_test = d.y[test]
        self._losses: dict[int, float] = {}
        self.base = self.loss(0)

    def loss(self, mask: int) -> float:
        return self.losses([mask])[0]

    def gain(self, mask: int) -> float:
        """Relative improvement over the buyer-only model: (L0 - L(S)) / L0 (may be < 0)."""
        return self.gains([mask])[0]

    def gains(self, masks: Sequence[int]) -> list[float]:
        if self.base <= 0:
            return [0.0] * len(masks)
        return [(self.base - loss) / self.base for loss in self.losses(masks)]

    def losses(self, masks: Sequence[int]) -> list[float]:
        todo = [m for m in dict.fromkeys(masks) if m not in self._losses]
        by_size: dict[int, list[int]] = {}
        for mask in todo:
            by_size.setdefault(mask.bit_count(), []).append(mask)
        for group in by_size.values():
            cols = columns(self._design, group)
            p = self._xy.size
            per_mask = 8 * (2 * p * p + self._y_test.size)
            step = max(1, CHUNK_BYTES // per_mask)
            for start in range(0, len(group), step):
                part = cols[start : start + step]
                for mask, value in zip(group[start : start + step], self._batch(part), strict=True):
                    self._losses[mask] = value
        return [self._losses[m] for m in masks]

    def _batch(self, cols: Ints) -> list[float]:
        beta = solve(self._gram[cols[:, :, None], cols[:, None, :]], self._xy[cols])
        full = np.zeros((cols.shape[0], self._xy.size))  # β over every column, 0 if out
        np.put_along_axis(full, cols, beta, axis=1)
        if self._gain_func == "mae":
            predictions = full @ self._x_test.T
            mae = np.mean(np.abs(self._y_test - predictions), axis=1)
            return [float(v) for v in mae]
        sse = self._test_yy - 2 * full @ self._t_xy + np.sum((full @ self._t_gram) * full, 1)
        mse = np.maximum(sse, 0.0) / self._y_test.size
        return [float(v) for v in (mse if self._gain_func == "mse" else np.sqrt(mse))]
