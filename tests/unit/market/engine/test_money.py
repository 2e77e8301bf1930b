"""The Myerson payment from a gain curve, and the split of a payment."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tickhub.market.engine._money import envelope, floor_to, split, unit_payment

US = np.linspace(0.0, 1.0, 5)


def test_a_linear_gain_curve_pays_half_of_price_times_gain() -> None:
    # G(u) = u: payment = u G(u) - u^2 / 2 = u^2 / 2.
    gain, unit = unit_payment(1.0, US, US.copy())
    assert (gain, unit) == pytest.approx((1.0, 0.5))
    gain, unit = unit_payment(0.5, US, US.copy())
    assert (gain, unit) == pytest.approx((0.5, 0.125))


def test_a_flat_gain_curve_pays_nothing() -> None:
    # The data does not depend on the price: nothing to pay for (Myerson's rule).
    assert unit_payment(1.0, US, np.full(5, 0.7)) == pytest.approx((0.7, 0.0))


def test_the_curve_is_made_monotone_below_the_bid() -> None:
    assert envelope(np.array([0.2, 0.6, 0.4, -0.1, 0.5])).tolist() == [0.0, 0.0, 0.0, 0.0, 0.5]
    assert envelope(np.array([0.1, 0.3, 0.2, 0.4])).tolist() == [0.1, 0.2, 0.2, 0.4]


@given(
    st.lists(st.floats(-1, 1, allow_nan=False), min_size=5, max_size=5),
    st.floats(0, 1.5, allow_nan=False),
)
def test_the_payment_is_between_zero_and_price_times_gain(gains: list[float], u: float) -> None:
    gain, unit = unit_payment(u, US, np.array(gains))
    assert 0 <= gain <= 1
    assert 0 <= unit <= min(u, 1.0) * gain + 1e-12


def test_floor_to_rounds_down_to_the_quantum() -> None:
    assert floor_to(Decimal("7.99"), Decimal(1)) == 7
    assert floor_to(Decimal("0.0349"), Decimal("0.01")) == Decimal("0.03")
    assert floor_to(Decimal("10"), Decimal("0.003")) == Decimal("9.999")


def test_the_split_follows_shapley_and_leaves_the_rest_to_the_fee() -> None:
    fee, amounts = split(Decimal(100), Decimal("0.05"), [0.6, 0.3, -0.2, 0.0], Decimal(1))
    assert amounts == [63, 31, 0, 0]  # 95 * 2/3 = 63.3, 95 / 3 = 31.6
    assert fee == 6


money = st.decimals(0, 10**9, places=3, allow_nan=False, allow_infinity=False)


@given(
    payment=money,
    fee_share=st.sampled_from([Decimal(0), Decimal("0.05"), Decimal("0.5"), Decimal("0.999")]),
    shapley=st.lists(st.floats(-1, 1, allow_nan=False), max_size=12),
    quantum=st.sampled_from([Decimal("0.001"), Decimal("0.01"), Decimal(1), Decimal(7)]),
)
def test_the_split_conserves_money_to_the_last_decimal(
    payment: Decimal, fee_share: Decimal, shapley: list[float], quantum: Decimal
) -> None:
    payment = floor_to(payment, quantum)
    fee, amounts = split(payment, fee_share, shapley, quantum)
    assert fee + sum(amounts, Decimal(0)) == payment
    assert fee >= payment * fee_share
    assert all(a >= 0 and a % quantum == 0 for a in amounts)
    assert fee % quantum == 0
    assert all(a == 0 for a, s in zip(amounts, shapley, strict=True) if s <= 0)
