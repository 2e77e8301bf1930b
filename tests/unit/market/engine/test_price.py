"""The price steps and the multiplicative-weights update."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tickhub.common.errors import Invalid
from tickhub.market.engine import PriceGrid
from tickhub.market.engine._price import next_price, price_steps


def grid(n: int = 4, weights: tuple[float, ...] | None = None, delta: float = 0.5) -> PriceGrid:
    return PriceGrid(Decimal(10), Decimal(10), Decimal(20), n, delta, weights)


def test_steps_run_evenly_from_b_min_to_b_max() -> None:
    assert price_steps(grid(4)) == [Decimal(10), Decimal("13.333333"), Decimal("16.666667"), 20]
    assert price_steps(grid(3)) == [10, 15, 20]
    assert str(price_steps(grid(3))[1]) == "15"
    assert price_steps(grid(1)) == [10]


def test_the_step_that_would_have_raised_most_gains_weight() -> None:
    revenue = {Decimal(10): 1.0, Decimal(15): 4.0, Decimal(20): 2.0}
    price, weights = next_price(grid(3), revenue.__getitem__)
    assert price == 15
    w = [x for _, x in weights]
    assert w[1] > w[2] > w[0]
    assert sum(w) == pytest.approx(1.0)
    # (1 + delta)^(R / max R), from uniform weights
    expected = [1.5 ** (1 / 4), 1.5, 1.5 ** (2 / 4)]
    assert w == pytest.approx([e / sum(expected) for e in expected])


def test_previous_weights_carry_over_and_no_revenue_leaves_them_as_they_were() -> None:
    price, weights = next_price(grid(3, weights=(1.0, 1.0, 6.0)), lambda p: 0.0)
    assert price == 20
    assert [w for _, w in weights] == pytest.approx([0.125, 0.125, 0.75])


def test_a_tie_goes_to_the_lowest_price() -> None:
    price, _ = next_price(grid(3), lambda p: 0.0)
    assert price == 10


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (grid(3, weights=(1.0, 2.0)), "weights"),
        (grid(3, weights=(1.0, 0.0, 1.0)), "weights"),
        (grid(0), "n_price_steps"),
        (grid(3, delta=-1.0), "delta"),
        (PriceGrid(Decimal(1), Decimal(5), Decimal(2), 3, 0.1), "b_max"),
    ],
)
def test_a_bad_grid_names_the_field(bad: PriceGrid, field: str) -> None:
    with pytest.raises(Invalid) as caught:
        next_price(bad, lambda p: 0.0)
    assert caught.value.field == field
