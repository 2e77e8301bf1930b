"""What goes into a clearing and what comes out: the agreed interface of the engine."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import numpy.typing as npt

GainFunc = str  # "mse" | "rmse" | "mae"

GAIN_FUNCS = ("mse", "rmse", "mae")


@dataclass(frozen=True)
class Measurements:
    """One resource's measured history (seed 003 raw data), regular steps, UTC."""

    resource_id: int
    user_id: int
    interval_min: int  # 5, 15, 30 or 60
    times: npt.NDArray[np.int64]  # unix seconds, ascending, unique
    values: npt.NDArray[np.float64]  # same length as times


@dataclass(frozen=True)
class Bid:
    """A confirmed bid: the buyer wants a forecast of its resource."""

    bid_id: int
    user_id: int
    resource_id: int
    bid_price: Decimal
    max_payment: Decimal
    gain_func: GainFunc


@dataclass(frozen=True)
class PriceGrid:
    """The session's price and the grid the next price is chosen from."""

    market_price: Decimal
    b_min: Decimal
    b_max: Decimal
    n_price_steps: int
    delta: float  # multiplicative-weights learning rate
    weights: tuple[float, ...] | None = None  # previous weights over the steps; None: uniform


@dataclass(frozen=True)
class ClearingParams:
    """How a session is cleared. The fields after `quantum` tune the model; their defaults
    are the ones the tests and the benchmark use."""

    launch_time: int  # unix seconds: forecasts cover (launch_time, launch_time + horizon]
    horizon_h: int = 24
    fee: Decimal = Decimal("0.05")  # the market's share of every payment, 0 <= fee < 1
    shapley_permutations: int = 200
    seed: int = 0  # fixed: a rerun gives the same split
    quantum: Decimal = Decimal("1")  # smallest unit of money; every amount is a multiple
    train_days: int = 56  # the window the models learn from, ending at launch_time
    holdout_days: int = 14  # the window's last days: where gains are measured
    max_sellers: int = 12  # candidate sellers per bid, the most correlated first
    own_lags: int = 3  # the buyer's lags from the horizon on: h, h+1, ... (in steps)
    seller_lags: int = 2  # each seller's lags from the horizon on
    ridge_alpha: float = 1e-3  # ridge penalty per training row, on standardised features
    noise_scale: float = 2.0  # κ: noise std (in feature std) at a bid price of zero
    price_points: int = 17  # points of the gain curve G(z) between 0 and the market price


@dataclass(frozen=True)
class Forecast:
    bid_id: int
    resource_id: int
    user_id: int
    times: npt.NDArray[np.int64]  # at the resource's interval
    values: npt.NDArray[np.float64]


@dataclass(frozen=True)
class BuyerResult:
    bid_id: int
    user_id: int
    resource_id: int
    gain: float  # improvement of gain_func on held-out data over the buyer-only model, >= 0
    payment: Decimal  # Myerson payment, 0 <= payment <= max_payment, multiple of quantum
    fee: Decimal  # the market's part of payment
    sellers: tuple[int, ...]  # resource ids whose data the buyer's model used
    note: str = ""  # why a bid pays nothing (no data, too little, no gain), else ""


@dataclass(frozen=True)
class Revenue:
    bid_id: int
    user_id: int  # the seller
    resource_id: int
    shapley: float
    amount: Decimal  # > 0, multiple of quantum


@dataclass(frozen=True)
class Clearing:
    """Invariant, per bid, to the last decimal: payment == fee + sum(revenue amounts)."""

    forecasts: tuple[Forecast, ...]
    buyers: tuple[BuyerResult, ...]
    revenues: tuple[Revenue, ...]
    next_market_price: Decimal  # one of the grid's steps
    price_weights: tuple[tuple[Decimal, float], ...]  # (step price, weight) for the next session
