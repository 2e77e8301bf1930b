"""The market engine: clears one session of the data market. Pure computation: no
database, no bus, no clock, no I/O; the same inputs give the same `Clearing`.

For every bid (in bid_id order), with the buyer's resource at interval Δ and horizon
H = ceil(horizon_h / Δ) steps:

Alignment. Every series is put on the buyer's grid of multiples of Δ: the value at t is
the mean of the measurements in (t - Δ, t] (a coarser series is carried forward over its
own interval); nothing measured after launch_time is used. Each series is standardised
over the window; unknown points become its mean.

Features and rows. Targets y(t) for t in the last `train_days` (56) days before the
launch; the last `holdout_days` (14) are held out. The buyer's own features are its lags
H, H+1, H+2 steps, the same time yesterday and last week (when further back than those),
the time of day (sin, cos) and an intercept; each seller s adds its lags H and H+1. Every
lag is at least H, so one model forecasts every t in (launch, launch + horizon] from what
is known at launch. Sellers are the other users' resources; the `max_sellers` (12) whose
lag H correlates most with y on the training rows are the candidates, the others get
nothing.

Model. Ridge regression, β = (X'X + αnP)⁻¹ X'y (P the identity without the intercept,
α = 1e-3 on standardised features), in numpy. Why numpy and not scikit-learn's Ridge: the
valuation fits thousands of coalitions of the same columns, and with X'X computed once a
coalition S is a solve on the sub-matrix of its columns; the held-out squared error is
(y'y - 2β'X'y + β'X'Xβ)/n from the held-out Gram matrices, only MAE needs the predictions.

Degraded data (Agarwal, Dahleh, Sarkar 2019). A bid at price b in a market at price p gets
the sellers' features plus noise: X̃ = X + σ(b) E on the seller columns, E standard
normal with the seed (params.seed, bid_id), σ(z) = κ max(0, 1 - z/p), κ = noise_scale (2),
so nothing is added at or above the market price. The Gram matrices for any σ are
X'X + σ(X'E + E'X) + σ²E'E, from three matrices computed once per bid.

Gain. L(S, σ) = gain_func (mse, rmse or mae) on the held-out rows of the model with the
own features and the sellers in S; L₀ the buyer-only loss. v_σ(S) = (L₀ - L(S, σ)) / L₀,
the relative improvement; gain = max(0, v_σ(b)(all candidates)) in [0, 1]. With no gain
the buyer gets the buyer-only forecast, pays nothing and the sellers get nothing.

Forecast. The bought model (all candidates at σ(b), or buyer-only) refitted on the training
and held-out rows together, at every multiple of Δ in (launch, launch + horizon].

Payment (Myerson). G(z) = v_σ(z)(all) on `price_points` (17) prices z from 0 to p and at
min(b, p), made non-decreasing (Ĝ(z) = min over z' in [z, b] of max(G(z'), 0)), then
    payment(b) = min(b, p) Ĝ(b) - ∫₀^min(b,p) Ĝ(z) dz   (trapezoids)
(above p the noise is nil and the integrand constant, so this is b Ĝ(b) - ∫₀^b Ĝ), capped
at max_payment and rounded down to a multiple of `quantum`.

Split (Shapley). φ_i = E_π[v(P_i(π) ∪ {i}) - v(P_i(π))], P_i(π) the sellers before i in a
random order π, over `shapley_permutations` (200) orders drawn with the bid's seed (each
v(S) computed once); `shapley_exact` sums over all 2ⁿ subsets instead. The sellers' pool
floor_q(payment (1 - fee)) is shared in proportion to the positive φ_i, each share rounded
down to the quantum; the market keeps fee = payment - Σ revenues, so that payment = fee +
Σ revenues exactly. Sellers with φ_i <= 0 (or a share under one quantum) get nothing.

Next price (multiplicative weights). Over the steps p_k = b_min + k (b_max - b_min)/(n-1),
R(p_k) = Σ over bids of what the bid would have paid at market price p_k (same gain
curves, same caps); w_k <- w_k (1 + δ)^(R(p_k) / max_j R(p_j)), normalised to sum 1; the
next market price is the step of highest weight (lowest on a tie).
"""

from tickhub.market.engine._clear import clear
from tickhub.market.engine._price import price_steps
from tickhub.market.engine._shapley import shapley_exact, shapley_sampled
from tickhub.market.engine._types import (
    Bid,
    BuyerResult,
    Clearing,
    ClearingParams,
    Forecast,
    GainFunc,
    Measurements,
    PriceGrid,
    Revenue,
)

__all__ = [
    "Bid",
    "BuyerResult",
    "Clearing",
    "ClearingParams",
    "Forecast",
    "GainFunc",
    "Measurements",
    "PriceGrid",
    "Revenue",
    "clear",
    "price_steps",
    "shapley_exact",
    "shapley_sampled",
]
