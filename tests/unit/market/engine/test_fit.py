"""The Gram-matrix shortcut gives what refitting each coalition from its rows gives."""

from __future__ import annotations

import numpy as np
import pytest

from tests.unit.market.engine.synthetic import BUYER, market, params
from tickhub.market.engine._clear import Clearer
from tickhub.market.engine._fit import ValueModel
from tickhub.market.engine._model import Design, Rows, build_design, select_sellers


def design() -> Design:
    data = market(extra_noise=3)
    aligned = Clearer(data, params(), 100.0).aligned(60)
    target = aligned.raw(BUYER)
    rows = Rows.of(aligned.grid, target)
    y = target[rows.train] - target[rows.train].mean()
    sellers = select_sellers(aligned, [r for r in data if r != BUYER], y, rows.train, 5)
    return build_design(aligned, BUYER, sellers, rows, np.random.default_rng(5))


def refit_loss(d: Design, mask: int, sigma: float, gain_func: str, alpha: float) -> float:
    x = d.x[: d.n_fit] + sigma * d.noise[: d.n_fit]
    cols = list(range(d.n_own)) + [c for i, g in enumerate(d.groups) if mask >> i & 1 for c in g]
    a = x[: d.n_train, cols]
    penalty = np.diag([0.0] + [alpha * d.n_train] * (len(cols) - 1))
    beta = np.linalg.solve(a.T @ a + penalty, a.T @ d.y[: d.n_train])
    error = d.y[d.n_train :] - x[d.n_train :, cols] @ beta
    if gain_func == "mae":
        return float(np.mean(np.abs(error)))
    mse = float(np.mean(error**2))
    return mse if gain_func == "mse" else mse**0.5


@pytest.mark.parametrize("gain_func", ["mse", "rmse", "mae"])
@pytest.mark.parametrize("sigma", [0.0, 0.7, 2.0])
def test_every_coalitions_loss_matches_a_refit_from_the_rows(gain_func: str, sigma: float) -> None:
    d = design()
    assert len(d.groups) == 5
    valuer = ValueModel(d, gain_func, 1e-3).at(sigma)
    masks = list(range(1 << 5))
    batched = valuer.losses(masks)
    for mask, loss in zip(masks, batched, strict=True):
        assert loss == pytest.approx(refit_loss(d, mask, sigma, gain_func, 1e-3), rel=1e-9)


def test_noise_lowers_the_gain_of_the_informative_seller() -> None:
    model = ValueModel(design(), "mse", 1e-3)
    everyone = (1 << 5) - 1
    gains = [model.at(sigma).gain(everyone) for sigma in (0.0, 0.5, 1.0, 2.0, 4.0)]
    assert gains == sorted(gains, reverse=True)
    assert gains[0] > 0.9 and gains[-1] < 0.5
