"""The correctly rounded sum of a float64 array, vectorised: `exact_sum(a)` is
`math.fsum(a.tolist())` bit for bit, at a fraction of its cost on long arrays.

The method is error-free extraction (Rump, Ogita and Oishi, "Accurate floating-point
summation", SIAM J. Sci. Comput. 31(1), 2008). For a block of k <= 2**m values, all of
magnitude at most 2**t, and sigma = 2**(t + m):

    q = (sigma + p) - sigma    is exact (Sterbenz: sigma + p lies in [sigma/2, 2 sigma]),
                               a multiple of u = 2**(t + m - 53), and |q| <= 2**t;
    r = p - q                  is exact (it is the rounding error of sigma + p), and
                               |r| <= u (half an ulp of sigma + p, which is < 2 sigma).

Every partial sum of the q's is then a multiple of u below k * 2**t <= 2**53 u, so any
summation order (numpy's pairwise sum included) adds them exactly: each pass takes the
top 53 - m bits of every value, exactly, into one float, and leaves the rest in r. The
passes end when r is zero, or as soon as r's own plain sum is exact (see `_split`).
The exact sum of the whole array is then the exact sum of a few dozen floats, and fsum
rounds it once: both it and `math.fsum(a.tolist())` are the correctly rounded value of
the same exact sum, hence the same float (both under the default rounding to nearest,
which fsum assumes too).

Whatever the fast path cannot promise to give fsum's answer is left to fsum itself:
non-finite values (fsum's inf, nan, ValueError or OverflowError), values so large that
fsum might overflow on the way, an exact sum of zero (fsum's rules for the sign of zero),
short arrays (where fsum over a list is the faster) and anything but a 1-d float64 array.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

SMALL = 512
"""Below this many values `math.fsum` over a list is as fast: it is used as it is."""
BLOCK = 8192
"""Values per block. Blocks keep the extraction's headroom m small (13 bits: 40 bits a
pass) and the two 64 KiB work buffers in cache; whole-array temporaries cost more in
fresh pages than the arithmetic (measured: 0.7 ms for a pair of fresh 86,400-value
arrays, against 0.2 ms for the whole sum)."""
MAX_PASSES = 8
"""Extraction passes per block (8 x 40 bits, beyond any price or squared deviation);
a block whose values span more bits is handed to fsum as it is."""
OVERFLOW_EXPONENT = 1020
"""The fast path needs n * max|value| < 2**OVERFLOW_EXPONENT: then no partial sum, in
fsum or here, comes near the overflow threshold 2**1024."""


def exact_sum(values: npt.NDArray[np.float64]) -> float:
    """`math.fsum(values.tolist())`, bit for bit (the sign of a zero included), for a
    1-d float64 array of any length."""
    if values.ndim != 1 or values.dtype != np.float64 or len(values) < SMALL:
        return math.fsum(values.tolist())
    n = len(values)
    tops, bottoms = _block_extremes(values)
    if not all(map(math.isfinite, tops + bottoms)):
        return math.fsum(values.tolist())  # an inf or a nan: fsum's answer or error
    largest = max(max(tops), -min(bottoms))
    if largest == 0.0:
        # only zeros: fsum of +0.0s is +0.0; a -0.0 among them is left to fsum's rules
        return math.fsum(values.tolist()) if np.signbit(values).any() else 0.0
    if _exponent(largest) + _log2_ceil(n) > OVERFLOW_EXPONENT:
        return math.fsum(values.tolist())
    parts: list[float] = []
    q_buf = np.empty(min(n, BLOCK))
    r_buf = np.empty_like(q_buf)
    for i, start in enumerate(range(0, n, BLOCK)):
        block = values[start : start + BLOCK]
        if not _split(block, tops[i], bottoms[i], q_buf, r_buf, parts):
            parts.extend(block.tolist())
    # `parts` sum exactly to the sum of `values`; fsum rounds that sum once
    total = math.fsum(parts)
    if total == 0.0:
        # the exact sum is zero (a nonzero multiple of 2**-1074 never rounds to zero)
        return math.fsum(values.tolist())
    return total


def _block_extremes(values: npt.NDArray[np.float64]) -> tuple[list[float], list[float]]:
    """The largest and the smallest value of each `BLOCK` of `values`, in order (nan
    where a block holds a nan)."""
    whole = len(values) - len(values) % BLOCK
    blocks = values[:whole].reshape(-1, BLOCK)
    tops: list[float] = blocks.max(axis=1).tolist()
    bottoms: list[float] = blocks.min(axis=1).tolist()
    if whole < len(values):
        tail = values[whole:]
        tops.append(float(tail.max()))
        bottoms.append(float(tail.min()))
    return tops, bottoms


def _split(
    block: npt.NDArray[np.float64],
    top: float,
    bottom: float,
    q_buf: npt.NDArray[np.float64],
    r_buf: npt.NDArray[np.float64],
    parts: list[float],
) -> bool:
    """Append to `parts` floats whose exact sum is the exact sum of `block` (finite
    values, max `top`, min `bottom`); False, with nothing appended, when that takes more
    than `MAX_PASSES` passes."""
    k = len(block)
    largest = max(top, -bottom)
    if largest == 0.0:
        return True
    m = max(1, _log2_ceil(k))  # k <= 2**m, and sigma >= 2 |p|
    t = _exponent(largest)  # |p| <= 2**t for every p in the block
    # Where the block has one sign, every value is at least `smallest` in magnitude, so
    # a multiple of the ulp at that binade, 2**grid. Extraction never leaves that grid
    # (q is a multiple of u >= 2**grid until the plain sum below takes over), so the
    # residuals are integer multiples of 2**grid too: once k * 2**t <= 2**(53 + grid),
    # every partial sum of theirs is an integer below 2**53 times 2**grid, and their
    # plain sum is exact. For prices that is after a single pass.
    smallest = bottom if bottom > 0.0 else (-top if top < 0.0 else 0.0)
    grid = _exponent(smallest) - 53 if smallest else None
    chosen: list[float] = []
    rest = block
    q, r = q_buf[:k], r_buf[:k]
    for _ in range(MAX_PASSES + 1):
        if grid is not None and t + m - grid <= 53:
            chosen.append(float(rest.sum()))
            break
        if len(chosen) == MAX_PASSES:
            return False
        sigma = math.ldexp(1.0, t + m)
        np.add(rest, sigma, out=q)
        np.subtract(q, sigma, out=q)  # q: the bits of rest at or above u, exactly
        chosen.append(float(q.sum()))  # exact: a multiple of u below 2**53 u
        np.subtract(rest, q, out=r)  # r: the bits below, exactly; |r| <= u
        rest = r
        t += m - 53  # |r| <= u: the bound for the next pass
        if grid is None and not r.any():
            break
    parts.extend(chosen)
    return True


def _exponent(x: float) -> int:
    """The e with 2**(e-1) <= |x| < 2**e, for a finite nonzero x."""
    return math.frexp(x)[1]


def _log2_ceil(k: int) -> int:
    """The least m >= 0 with k <= 2**m, for k >= 1."""
    return (k - 1).bit_length()
