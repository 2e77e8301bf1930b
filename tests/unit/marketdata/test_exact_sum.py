"""`exact_sum` against `math.fsum` over the same values as a list, bit for bit (compared
as `float.hex`, so the sign of a zero counts): random-walk prices and the squares of
their deviations as `summarize` makes them, values across the whole exponent range,
heavy cancellation, round-half-even ties, lengths at every threshold, every way to the
fsum fallback (errors included), and `summarize` against its fsum-based original."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from fractions import Fraction

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tickhub.marketdata.service import summarize
from tickhub.marketdata.service._exactsum import BLOCK, MAX_PASSES, SMALL, _split, exact_sum

Array = npt.NDArray[np.float64]
FSUM = math.fsum  # the reference, kept before any test spies on math.fsum


def assert_fsum(values: Array) -> float:
    """exact_sum(values) is fsum(values.tolist()) to the bit, or raises fsum's error."""
    try:
        want = FSUM(values.tolist())
    except (OverflowError, ValueError) as error:
        with pytest.raises(type(error), match=str(error)):
            exact_sum(values)
        return math.nan
    got = exact_sum(values)
    assert got.hex() == want.hex(), (got, want)
    return got


def exact(values: Array) -> Fraction:
    """The exact sum: every double is an integer times 2**-1074."""
    total = 0
    for v in values.tolist():
        num, den = v.as_integer_ratio()  # den is a power of two, at most 2**1074
        total += num << (1075 - den.bit_length())
    return Fraction(total, 1 << 1074)


def correctly_rounded(values: Array) -> float:
    """The exact sum rounded once (Fraction -> float rounds half to even)."""
    return float(exact(values))


def on_a_tie(values: Array, offset: int = 0) -> Array:
    """`values` and a few floats more, so that the exact sum lies exactly halfway between
    two doubles (`offset` 2**-1074 steps away from it): the last bit of the result then
    depends on every bit of the sum, and any inexact step shows."""
    total = exact(values)
    near = float(total)
    ulp = math.ulp(near) if near else 5e-324
    gap = Fraction(near) + Fraction(ulp) / 2 + Fraction(offset) * Fraction(5e-324) - total
    extra: list[float] = []
    while gap:
        extra.append(float(gap))
        gap -= Fraction(extra[-1])
    return np.concatenate([values, extra])


def padded(values: Iterable[float], length: int = SMALL + 100) -> Array:
    """`values` followed by zeros up to `length`: the same sum, long enough for the
    vectorised path."""
    head = np.array(list(values), dtype=np.float64)
    return np.concatenate([head, np.zeros(length - len(head))])


def fsum_lengths(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Spy on math.fsum: the length of every list it is given from now on."""
    seen: list[int] = []

    def spy(xs: Iterable[float]) -> float:
        listed = list(xs)
        seen.append(len(listed))
        return FSUM(listed)

    monkeypatch.setattr(math, "fsum", spy)
    return seen


def walk(rng: np.random.Generator, start: float, n: int, step: float) -> Array:
    return start * np.exp(np.cumsum(rng.normal(0.0, step, n)))


def squared_deviations(prices: Array) -> Array:
    """As `summarize` makes them: (price - the fsum mean) squared."""
    dev = prices - FSUM(prices.tolist()) / len(prices)
    return dev * dev


# -- the workload: prices and their squared deviations ---------------------------------


def test_random_walk_prices_equal_fsum(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(20260328)
    seen = fsum_lengths(monkeypatch)
    for start in (0.0085, 1.0, 70000.123456, 3.2e-7, 64000.0):
        for step in (1e-6, 1e-4, 1e-2, 0.2):
            n = int(rng.integers(SMALL, 100_001))
            prices = walk(rng, start, n, step)
            assert_fsum(prices)
            assert_fsum(np.round(prices, 2) + 0.01)  # cents, as some venues quote
            if step == 1e-4:  # and just either side of a tie
                assert_fsum(on_a_tie(prices, -1))
                assert_fsum(on_a_tie(prices, 1))
            assert all(k < n for k in seen)  # never the fsum fallback: the fast path
            seen.clear()


def test_squared_deviations_equal_fsum(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(86_400)
    seen = fsum_lengths(monkeypatch)
    for start in (0.0085, 70000.123456, 1.0):
        for step in (1e-7, 1e-4, 1e-2, 0.3):
            n = int(rng.integers(SMALL, 100_001))
            squares = squared_deviations(walk(rng, start, n, step))
            assert_fsum(squares)
            if step == 1e-4:
                assert_fsum(on_a_tie(squares, -1))
                assert_fsum(on_a_tie(squares, 1))
            assert all(k < n for k in seen)
            seen.clear()
    # a flat stretch: some deviations are exactly zero, so the blocks hold zeros; and a
    # constant series: only zeros, +0.0 without fsum
    assert_fsum(squared_deviations(np.repeat(walk(rng, 70000.123456, 2_000, 1e-4), 40)))
    assert exact_sum(squared_deviations(np.full(86_400, 1.0001))).hex() == (0.0).hex()


def test_small_random_arrays_are_correctly_rounded() -> None:
    rng = np.random.default_rng(7)
    for _ in range(40):
        n = int(rng.integers(SMALL, 3 * SMALL))
        values = rng.normal(0.0, 1.0, n) * 2.0 ** rng.integers(-60, 60, n)
        assert assert_fsum(values) == correctly_rounded(values)


# -- the whole exponent range -----------------------------------------------------------


def random_finite_doubles(rng: np.random.Generator, n: int) -> Array:
    """Doubles with uniformly random bits (every exponent, both signs, subnormals), the
    non-finite ones dropped."""
    values = rng.integers(-(2**63), 2**63 - 1, n, dtype=np.int64, endpoint=True).view(np.float64)
    return values[np.isfinite(values)]


def test_values_across_the_whole_exponent_range_equal_fsum() -> None:
    rng = np.random.default_rng(1074)
    for scale in (1.0, 2.0**-600, 2.0**-1000, 2.0**-1070):
        for _ in range(5):
            assert_fsum(random_finite_doubles(rng, int(rng.integers(SMALL, 30_000))) * scale)


def test_tiny_subnormals_equal_fsum(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(5)
    seen = fsum_lengths(monkeypatch)
    steps = rng.integers(-(2**40), 2**40, 20_000).astype(np.float64)
    tiny = steps * 5e-324  # subnormals and small normals, exactly
    assert_fsum(tiny)
    assert_fsum(np.abs(tiny))  # one sign: the blocks' grid is known
    assert_fsum(np.abs(tiny) + 2.0**-1000)
    assert all(k < len(tiny) for k in seen)
    assert exact_sum(np.full(SMALL, 5e-324)) == SMALL * 5e-324


def test_wide_blocks_spanning_many_binades_equal_fsum() -> None:
    rng = np.random.default_rng(11)
    for span in (60, 200, 600, 2000):
        n = int(rng.integers(SMALL, 3 * BLOCK))
        values = rng.normal(0.0, 1.0, n) * 2.0 ** rng.integers(-span // 2, span // 2, n)
        assert_fsum(values)
        assert_fsum(np.abs(values))
        assert_fsum(np.abs(values) * 2.0**-100)
        assert_fsum(np.abs(values) * 2.0**-1000)  # down into the subnormals


@pytest.mark.parametrize("anchor", [26, 27, 28, 29, 30, 31])
def test_residuals_that_all_round_one_way_equal_fsum(anchor: int) -> None:
    # The worst case for the bounds in `_split`: a value 2**anchor in each block sets
    # sigma = 2**(anchor + 14) (13 bits of headroom for 8192 values), hence the ulp of
    # sigma + p, 2u, for the values in [1, 2) that fill the block. Each sits just below a
    # halfway point, so its residual is nearly +u and carries bits down to 2**-52: the
    # residuals' sum comes to the very edge of what the plain sum adds exactly (anchor
    # 27), or past it (28 and up: another pass first). Their exact sum is made an odd
    # multiple of 2**-52, which no float past 2 is; summed on a tie, one bit too bold in
    # any bound changes the answer.
    rng = np.random.default_rng(anchor)
    u = 2.0 ** (anchor - 39)
    for n in (BLOCK, 2 * BLOCK + SMALL):
        steps = rng.integers(0, 256, n).astype(np.float64) * (2 * u)
        below = rng.integers(1, 2**20, n)
        residuals = sum(int(u * 2**52) - b for b in below[1:BLOCK].tolist())
        below[1] += 1 - residuals % 2  # an odd sum, in units of 2**-52
        values = 1.0 + steps + (u - below.astype(np.float64) * 2.0**-52)
        values[::BLOCK] = 2.0**anchor
        for offset in (-1, 0, 1):  # an error of either sign moves the sum past the tie
            for tied in (on_a_tie(values, offset), -on_a_tie(values[::-1], offset)):
                assert assert_fsum(tied) == correctly_rounded(tied)


def test_full_blocks_just_below_a_power_of_two_equal_fsum() -> None:
    # each block's sum nears k * 2**t, the most the extraction's headroom allows
    rng = np.random.default_rng(17)
    for top in (2.0**17, 1.0, 2.0**-30):
        values = top * (1.0 - rng.random(3 * BLOCK) * 2.0**-20)
        for tied in (on_a_tie(values), -on_a_tie(values, -1), on_a_tie(values[: BLOCK + 1])):
            assert assert_fsum(tied) == correctly_rounded(tied)


# -- cancellation and ties --------------------------------------------------------------


def test_heavy_cancellation_equals_fsum() -> None:
    assert assert_fsum(padded([1e300, 1.0, -1e300])) == 1.0
    assert assert_fsum(padded([2.0**100, 1.0, -(2.0**100), 2.0**-100])) == 1.0 + 2.0**-100
    assert assert_fsum(padded([1e308, 1.0, -1e308])) == 1.0  # the overflow guard's fsum
    rng = np.random.default_rng(3)
    for _ in range(10):
        n = int(rng.integers(SMALL, 20_000))
        half = rng.normal(0.0, 1.0, n) * 10.0 ** rng.integers(-30, 30, n)
        nudged = -half * (1.0 + rng.normal(0.0, 1e-15, n) * (rng.random(n) < 0.3))
        values = np.concatenate([half, nudged, [rng.normal()]])
        rng.shuffle(values)
        assert_fsum(values)


@pytest.mark.parametrize(
    ("values", "want"),
    [
        ([2.0**53, 1.0], 2.0**53),  # a tie: to the even neighbour, below
        ([2.0**53 + 2.0, 1.0], 2.0**53 + 4.0),  # a tie: to the even neighbour, above
        ([2.0**53, 1.0, 1.0], 2.0**53 + 2.0),  # no tie: exact
        ([2.0**53, 1.0, 2.0**-60], 2.0**53 + 2.0),  # just above the tie
        ([2.0**53, 1.0, -(2.0**-60)], 2.0**53),  # just below it
        ([1e-16, 1.0, 1e16], 10000000000000002.0),
        ([-(2.0**53), -1.0, -(2.0**-1074)], -(2.0**53) - 2.0),
        ([1.0, 2.0**-53], 1.0),  # a tie at a power of two
        ([1.0, -(2.0**-54)], 1.0),  # a tie below a power of two, where the ulp halves
        ([1.0, -(2.0**-54), -(2.0**-1074)], 1.0 - 2.0**-53),
    ],
)
def test_round_half_even_ties_equal_fsum(values: list[float], want: float) -> None:
    for order in (values, values[::-1]):
        assert assert_fsum(padded(order)) == want


def test_ties_within_one_signed_blocks_equal_fsum() -> None:
    # 2**53 + k ones: k odd is a tie (the ulp is 2 there), k even is exact
    for k in (SMALL + 1, SMALL + 2, BLOCK - 1, BLOCK + 1, 3 * BLOCK + 5):
        values = np.concatenate([[2.0**53], np.ones(k)])
        assert assert_fsum(values) == correctly_rounded(values)
        assert assert_fsum(-values) == -correctly_rounded(values)
        assert assert_fsum(values[::-1]) == correctly_rounded(values)


# -- lengths and fallbacks --------------------------------------------------------------


def test_short_and_boundary_lengths_equal_fsum() -> None:
    assert exact_sum(np.array([], dtype=np.float64)).hex() == (0.0).hex()
    for one in (0.0, -0.0, 5e-324, -1.5, 1e308, math.inf, -math.inf):
        assert_fsum(np.array([one]))
    assert math.isnan(exact_sum(np.array([math.nan])))
    rng = np.random.default_rng(2)
    for n in (2, SMALL - 1, SMALL, SMALL + 1, BLOCK - 1, BLOCK, BLOCK + 1, 2 * BLOCK + 3):
        assert_fsum(walk(rng, 70000.123456, n, 1e-3))
        assert_fsum(rng.normal(0.0, 1.0, n))


def test_other_dtypes_and_strided_views_equal_fsum() -> None:
    rng = np.random.default_rng(4)
    prices = walk(rng, 0.0085, 3 * BLOCK, 1e-3)
    assert_fsum(prices[::3])  # a strided view
    assert_fsum(prices[::-1])
    singles = prices.astype(np.float32)
    assert exact_sum(singles) == FSUM(singles.tolist())  # type: ignore[arg-type]
    ints = rng.integers(-(2**62), 2**62, 2 * SMALL)
    assert exact_sum(ints) == FSUM(ints.tolist())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "special",
    [[math.inf], [-math.inf], [math.nan], [math.inf, -math.inf], [math.inf, math.nan]],
)
def test_non_finite_values_get_fsums_answer_or_error(
    special: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(6)
    prices = walk(rng, 100.0, 3 * BLOCK, 1e-3)
    seen = fsum_lengths(monkeypatch)
    for at in (0, 1, BLOCK + 5, len(prices) - 1):  # in the first block, or a later one
        values = np.insert(prices, at, special)
        try:
            want = FSUM(values.tolist())
        except ValueError:
            with pytest.raises(ValueError, match="-inf \\+ inf"):
                exact_sum(values)
            continue
        seen.clear()
        got = exact_sum(values)
        assert got == want or (math.isnan(got) and math.isnan(want))
        assert seen == [len(values)]  # fsum's own answer, not a nan carried through


def test_values_near_overflow_are_left_to_fsum(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(OverflowError, match="intermediate overflow"):
        exact_sum(padded([1e308, 1e308, -1e308]))  # as fsum raises, though the sum is finite
    values = np.full(2 * SMALL, 1.5e305)  # the sum, 1.5e308, is finite; n * max nears 2**1024
    seen = fsum_lengths(monkeypatch)
    assert_fsum(values)
    assert len(values) in seen


def test_an_exact_zero_is_left_to_fsum(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    half = rng.normal(0.0, 1.0, BLOCK)
    values = np.concatenate([half, -half])
    rng.shuffle(values)
    seen = fsum_lengths(monkeypatch)
    assert assert_fsum(values) == 0.0
    assert len(values) in seen
    for zeros in (np.full(SMALL, -0.0), padded([-0.0, 0.0, -0.0])):
        seen.clear()
        assert_fsum(zeros)  # signed zeros: fsum's sign rules
        assert len(zeros) in seen
    seen.clear()
    assert_fsum(np.zeros(BLOCK))  # only +0.0: +0.0 without fsum
    assert seen == []


def test_a_block_spanning_too_many_bits_is_left_to_fsum(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(9)
    wide = rng.normal(0.0, 1.0, BLOCK) * 10.0 ** rng.integers(-300, 300, BLOCK)
    q, r = np.empty(BLOCK), np.empty(BLOCK)
    parts: list[float] = []
    assert not _split(wide, float(wide.max()), float(wide.min()), q, r, parts)
    assert parts == []
    values = np.concatenate([walk(rng, 100.0, BLOCK, 1e-3), wide, walk(rng, 1.0, 500, 1e-3)])
    seen = fsum_lengths(monkeypatch)
    assert_fsum(values)
    # one fsum, of the parts: the wide block's own values and a few floats for the rest
    assert len(seen) == 1
    assert BLOCK < seen[0] <= BLOCK + 2 * (MAX_PASSES + 1)


@given(
    st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=12),
    st.integers(SMALL, 4 * SMALL),
    st.integers(0, 2**32 - 1),
)
@settings(max_examples=150, deadline=None)
def test_any_finite_values_equal_fsum(pattern: list[float], n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    values = np.resize(np.array(pattern), n) * rng.choice([-1.0, 1.0, 0.5], n)
    assert_fsum(values)
    assert_fsum(np.abs(values))


# -- summarize ---------------------------------------------------------------------------


def fsum_summary(prices: Array) -> tuple[float, float]:
    """`summarize`'s mean and pstdev as it computed them before `exact_sum`."""
    n = len(prices)
    mean = FSUM(prices.tolist()) / n
    dev = prices - mean
    return mean, math.sqrt(FSUM((dev * dev).tolist()) / n)


@pytest.mark.parametrize(
    "make",
    [
        lambda rng: walk(rng, 70000.123456, 86_400, 1e-4),
        lambda rng: walk(rng, 0.0085, 100_000, 1e-3),
        lambda rng: np.round(walk(rng, 64000.0, 20_000, 1e-3), 2),
        lambda rng: np.full(5_000, 1.0001),
        lambda rng: walk(rng, 1.0, 1, 1e-3),
        lambda rng: walk(rng, 1.0, SMALL + 7, 1e-3),
    ],
)
def test_summarize_equals_its_fsum_original(
    make: Callable[[np.random.Generator], Array],
) -> None:
    prices = make(np.random.default_rng(42))
    got = summarize(prices)
    mean, pstdev = fsum_summary(prices)
    assert (got.mean.hex(), got.pstdev.hex()) == (mean.hex(), pstdev.hex())
