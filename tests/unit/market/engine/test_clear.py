"""clear() on a synthetic market where seller A's series leads the buyer's by one step
and seller B's is noise."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.market.engine.synthetic import (
    BUYER,
    HOUR,
    LAUNCH,
    SELLER_A,
    SELLER_B,
    bid,
    market,
    params,
    price_grid,
)
from tickhub.common.errors import Invalid
from tickhub.market.engine import Clearing, Measurements, clear

DATA = market()


def _conserved(clearing: Clearing) -> None:
    for buyer in clearing.buyers:
        paid = [r.amount for r in clearing.revenues if r.bid_id == buyer.bid_id]
        assert buyer.payment == buyer.fee + sum(paid, Decimal(0))


def _amount(clearing: Clearing, resource_id: int) -> Decimal:
    return sum((r.amount for r in clearing.revenues if r.resource_id == resource_id), Decimal(0))


def test_the_forecast_with_the_sellers_data_beats_the_buyer_alone_out_of_sample() -> None:
    # Data run 24 hours past the last launch; each clearing sees only what precedes it.
    data = market(days=72, end=LAUNCH + 25 * HOUR)
    buyer_only = {BUYER: data[BUYER]}
    truth = dict(zip(data[BUYER].times.tolist(), data[BUYER].values.tolist(), strict=True))
    errors_with, errors_without = [], []
    for hour in range(24):
        launch = LAUNCH + hour * HOUR
        with_data = clear([bid()], data, price_grid(), params(launch_time=launch))
        alone = clear([bid()], buyer_only, price_grid(), params(launch_time=launch))
        for mine, theirs in zip(with_data.forecasts, alone.forecasts, strict=True):
            assert mine.times.tolist() == [launch + HOUR] == theirs.times.tolist()
            actual = truth[launch + HOUR]
            errors_with.append((float(mine.values[0]) - actual) ** 2)
            errors_without.append((float(theirs.values[0]) - actual) ** 2)
    assert len(errors_with) == 24
    assert np.mean(errors_with) < 0.2 * np.mean(errors_without)


def test_the_informative_seller_earns_and_the_noise_seller_gets_next_to_nothing() -> None:
    clearing = clear([bid()], DATA, price_grid(), params())
    (buyer,) = clearing.buyers
    assert buyer.gain > 0.5
    assert buyer.payment > 0
    assert buyer.note == ""
    assert SELLER_A in buyer.sellers
    a, b = _amount(clearing, SELLER_A), _amount(clearing, SELLER_B)
    assert a > 0
    assert b <= a / 50
    shapley = {r.resource_id: r.shapley for r in clearing.revenues}
    assert shapley[SELLER_A] > 0.5
    assert all(r.user_id == 10 * r.resource_id for r in clearing.revenues)
    _conserved(clearing)


def test_the_payment_never_exceeds_max_payment() -> None:
    clearing = clear([bid(max_payment="7.5")], DATA, price_grid(), params(quantum=Decimal(1)))
    (buyer,) = clearing.buyers
    assert buyer.payment == Decimal(7)  # the cap, rounded down to the quantum
    _conserved(clearing)


def test_a_bid_below_the_market_price_gains_less_and_pays_less_than_one_above() -> None:
    low = clear([bid(price="30")], DATA, price_grid("100"), params()).buyers[0]
    high = clear([bid(price="150")], DATA, price_grid("100"), params()).buyers[0]
    assert 0 < low.gain < high.gain
    assert low.payment < high.payment


def test_the_same_inputs_give_the_same_clearing() -> None:
    bids = [bid(1), bid(2, price="40", resource_id=SELLER_A)]
    first = clear(bids, DATA, price_grid(), params(seed=3))
    again = clear(list(reversed(bids)), dict(reversed(DATA.items())), price_grid(), params(seed=3))
    assert first.buyers == again.buyers
    assert first.revenues == again.revenues
    assert first.next_market_price == again.next_market_price
    assert first.price_weights == again.price_weights
    for f, g in zip(first.forecasts, again.forecasts, strict=True):
        assert f.bid_id == g.bid_id
        assert np.array_equal(f.values, g.values)


@pytest.mark.parametrize("gain_func", ["mse", "rmse", "mae"])
def test_every_gain_function_values_the_informative_seller(gain_func: str) -> None:
    clearing = clear([bid(gain_func=gain_func)], DATA, price_grid(), params())
    assert clearing.buyers[0].gain > 0.5
    assert _amount(clearing, SELLER_A) > _amount(clearing, SELLER_B)
    _conserved(clearing)


def test_a_buyer_whose_data_nobody_improves_pays_nothing_and_still_gets_a_forecast() -> None:
    # B's series is noise: no other series predicts it.
    clearing = clear([bid(resource_id=SELLER_B)], DATA, price_grid(), params())
    (buyer,) = clearing.buyers
    assert (buyer.gain, buyer.payment, buyer.fee) == (0.0, Decimal(0), Decimal(0))
    assert buyer.sellers == ()
    assert "does not improve" in buyer.note
    assert clearing.revenues == ()
    assert len(clearing.forecasts) == 1


def test_a_buyer_without_data_or_with_too_little_is_told_why() -> None:
    short = DATA[BUYER]
    few = Measurements(BUYER, 10, 60, short.times[-30:], short.values[-30:])
    clearing = clear([bid(), bid(2, resource_id=4)], {**DATA, BUYER: few}, price_grid(), params())
    buyer, absent = clearing.buyers
    assert buyer.payment == 0 and "too little data" in buyer.note
    assert absent.payment == 0 and "no measurements" in absent.note
    assert [f.bid_id for f in clearing.forecasts] == [1]
    assert np.isfinite(clearing.forecasts[0].values).all()


def test_a_coarser_seller_is_aligned_to_the_buyers_interval() -> None:
    # The buyer at 15 minutes follows, an hour later, a seller measured hourly: each
    # hourly value is carried over its hour on the buyer's grid, and the lag of one hour
    # (4 steps) finds it.
    rng = np.random.default_rng(1)
    quarters = 60 * 24 * 4
    times = LAUNCH - 900 * np.arange(quarters - 1, -1, -1, dtype=np.int64)
    hourly = rng.standard_normal(quarters // 4)
    buyer = np.concatenate([np.zeros(4), 3 * np.repeat(hourly, 4)[:-4]])
    buyer += 0.3 * rng.standard_normal(quarters)
    data = {
        BUYER: Measurements(BUYER, 10, 15, times, buyer),
        SELLER_A: Measurements(SELLER_A, 20, 60, times[::4], hourly),
    }
    clearing = clear([bid()], data, price_grid(), params(horizon_h=1))
    assert clearing.buyers[0].gain > 0.9
    assert [r.resource_id for r in clearing.revenues] == [SELLER_A]
    assert clearing.forecasts[0].times.tolist() == [LAUNCH + 900 * k for k in range(1, 5)]


def test_the_next_price_is_a_grid_step_and_the_weights_sum_to_one() -> None:
    clearing = clear([bid(price="150")], DATA, price_grid(), params())
    steps = [p for p, _ in clearing.price_weights]
    assert steps[0] == Decimal(20) and steps[-1] == Decimal(200) and len(steps) == 10
    assert clearing.next_market_price in steps
    assert sum(w for _, w in clearing.price_weights) == pytest.approx(1.0)
    best = max(clearing.price_weights, key=lambda s: s[1])
    assert clearing.next_market_price == best[0]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"fee": Decimal(1)}, "fee"),
        ({"quantum": Decimal(0)}, "quantum"),
        ({"holdout_days": 60}, "holdout_days"),
    ],
)
def test_bad_parameters_name_the_field(change: dict[str, object], field: str) -> None:
    with pytest.raises(Invalid) as caught:
        clear([bid()], DATA, price_grid(), params(**change))
    assert caught.value.field == field


def test_bad_bids_and_series_name_the_field() -> None:
    with pytest.raises(Invalid) as caught:
        clear([bid(gain_func="r2")], DATA, price_grid(), params())
    assert caught.value.field == "gain_func"
    with pytest.raises(Invalid) as caught:
        clear([bid(), bid()], DATA, price_grid(), params())
    assert caught.value.field == "bid_id"
    bad = Measurements(BUYER, 10, 60, DATA[BUYER].times[::-1], DATA[BUYER].values)
    with pytest.raises(Invalid) as caught:
        clear([bid()], {**DATA, BUYER: bad}, price_grid(), params())
    assert caught.value.field == f"data[{BUYER}].times"
    with pytest.raises(Invalid) as caught:
        clear([bid()], DATA, price_grid(weights=(1.0, 2.0)), params())
    assert caught.value.field == "weights"


@settings(max_examples=15, deadline=None)
@given(
    prices=st.lists(st.integers(0, 300), min_size=1, max_size=3),
    caps=st.lists(st.integers(0, 100), min_size=3, max_size=3),
    fee=st.sampled_from(["0", "0.05", "0.333"]),
    quantum=st.sampled_from(["1", "0.01", "0.003"]),
)
def test_money_is_conserved_and_bounded_for_any_bids(
    prices: list[int], caps: list[int], fee: str, quantum: str
) -> None:
    resources = [BUYER, SELLER_A, SELLER_B]
    bids = [
        bid(i + 1, price=str(p), max_payment=str(caps[i]), resource_id=resources[i])
        for i, p in enumerate(prices)
    ]
    q = Decimal(quantum)
    clearing = clear(bids, DATA, price_grid(), params(fee=Decimal(fee), quantum=q))
    _conserved(clearing)
    for b, result in zip(bids, clearing.buyers, strict=True):
        assert 0 <= result.payment <= b.max_payment
        assert result.payment % q == 0 and result.fee % q == 0
        assert result.fee >= result.payment * Decimal(fee) - q * len(result.sellers) - q
        assert 0 <= result.gain <= 1
    assert all(r.amount > 0 and r.amount % q == 0 for r in clearing.revenues)
    assert all(
        r.user_id != b.user_id for r in clearing.revenues for b in bids if r.bid_id == b.bid_id
    )
