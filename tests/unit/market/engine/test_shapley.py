"""Shapley values: exact ones on games with known answers, sampled ones close to them."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.market.engine.synthetic import BUYER, market, params
from tickhub.market.engine import shapley_exact, shapley_sampled
from tickhub.market.engine._clear import Clearer, seed_of
from tickhub.market.engine._fit import ValueModel
from tickhub.market.engine._model import Rows, build_design, select_sellers


def test_an_additive_game_pays_each_player_its_own_value() -> None:
    own = [3.0, 0.0, -1.0, 0.5]

    def value(mask: int) -> float:
        return sum(v for i, v in enumerate(own) if mask >> i & 1)

    assert shapley_exact(value, 4) == pytest.approx(own)
    assert shapley_sampled(value, 4, 20, 0) == pytest.approx(own)


def test_two_substitutes_share_what_either_brings() -> None:
    # Either of players 0 and 1 brings 1 (the same information); player 2 brings nothing.
    def value(mask: int) -> float:
        return 1.0 if mask & 0b011 else 0.0

    assert shapley_exact(value, 3) == pytest.approx([0.5, 0.5, 0.0])


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(-5, 5), min_size=8, max_size=8), st.integers(0, 2**32))
def test_both_are_efficient_sum_is_the_grand_coalitions_value(
    table: list[float], seed: int
) -> None:
    def value(mask: int) -> float:  # a game on 3 players from a table of its 8 values
        return table[mask] - table[0]

    exact = shapley_exact(value, 3)
    sampled = shapley_sampled(value, 3, 7, seed)
    assert sum(exact) == pytest.approx(value(7), abs=1e-9)
    assert sum(sampled) == pytest.approx(value(7), abs=1e-9)


def test_sampled_values_are_close_to_the_exact_ones_on_a_real_bid() -> None:
    # Ten candidate sellers: A (informative), B and eight more noise series.
    data = market(extra_noise=8)
    clearer = Clearer(data, params(max_sellers=10), 100.0)
    aligned = clearer.aligned(60)
    target = aligned.raw(BUYER)
    rows = Rows.of(aligned.grid, target)
    y = target[rows.train] - target[rows.train].mean()
    others = [r for r in data if r != BUYER]
    sellers = select_sellers(aligned, others, y, rows.train, 10)
    assert len(sellers) == 10
    design = build_design(
        aligned, BUYER, sellers, rows, np.random.default_rng(seed_of(params(), 1))
    )
    valuer = ValueModel(design, "mse", 1e-3).at(0.5)
    exact = shapley_exact(valuer.gain, 10)
    sampled = shapley_sampled(valuer.gain, 10, 200, 0)
    assert max(abs(e - s) for e, s in zip(exact, sampled, strict=True)) < 0.01
    assert sum(sampled) == pytest.approx(sum(exact))
    assert max(exact) == exact[sellers.index(2)]
