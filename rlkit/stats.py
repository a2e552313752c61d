"""Confidence intervals and the standard normal distribution, computed in one place.

Every "± x (95% CI)" that rlkit prints comes from here: the normal-approximation interval of a
mean (``mean_ci95``), the Wilson score interval of a win rate (``wilson_interval``), and the
standard normal CDF and quantile that both rest on (``normal_cdf``, ``normal_quantile``). numpy
and the standard library only; scipy is not a dependency.

>>> round(normal_quantile(0.975), 12) == round(Z95, 12)
True
>>> mean, half_width = mean_ci95([1.0, 0.0, 1.0, 1.0])
>>> mean, round(half_width, 4)
(0.75, 0.49)
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from rlkit.errors import SpecError

Z95 = 1.959963984540054
"""The 0.975 quantile of the standard normal distribution, Φ⁻¹(0.975): a two-sided 95% normal
interval is ``mean ± Z95 · standard error``. Exactly, Φ⁻¹(0.975) = 1.959963984540054235…;
this is the quantile of the double nearest 0.975, as ``normal_quantile(0.975)`` and
``scipy.stats.norm.ppf(0.975)`` both return it (one unit in the last place below the double
nearest the exact value: immaterial for an interval)."""


def normal_cdf(x: float) -> float:
    """Φ(x), the standard normal cumulative distribution function.

    Written with ``erfc`` rather than ``1 + erf`` so that the lower tail keeps its relative
    precision (Φ(-30) is about 5e-198, not 0).

    Args:
        x: any real number (±inf allowed).

    Returns:
        P(Z ≤ x) for Z ~ N(0, 1).

    >>> normal_cdf(0.0)
    0.5
    >>> round(normal_cdf(Z95), 12)
    0.975
    """
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def normal_quantile(p: float) -> float:
    """Φ⁻¹(p), the quantile function of the standard normal distribution.

    A starting value from the rational approximation of Abramowitz & Stegun (1964), formula
    26.2.23 (absolute error below 4.5e-4), is refined by Newton's method on log Φ(x) = log p,
    which is concave, so the iteration is stable far into the tails; the result agrees with
    scipy.stats.norm.ppf to about 1e-15 relative error.

    Args:
        p: a probability in [0, 1]; 0 and 1 give -inf and +inf.

    Returns:
        The x with Φ(x) = p.

    Raises:
        SpecError: ``p`` is outside [0, 1] or NaN.

    >>> normal_quantile(0.5)
    0.0
    >>> round(normal_quantile(0.025), 9)
    -1.959963985
    """
    if not 0.0 <= p <= 1.0:  # also catches NaN
        raise SpecError(f"a probability must lie in [0, 1], got {p}")
    if p == 0.0:
        return -math.inf
    if p == 1.0:
        return math.inf
    if p == 0.5:
        return 0.0
    if p > 0.5:
        # Solve in the lower tail, where p itself (not 1 - p) carries full precision.
        return -normal_quantile(1.0 - p)
    t = math.sqrt(-2.0 * math.log(p))
    x = -(
        t
        - (2.515517 + 0.802853 * t + 0.010328 * t * t)
        / (1.0 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t**3)
    )
    log_p = math.log(p)
    for _ in range(50):
        cdf = normal_cdf(x)
        log_density = -0.5 * x * x - 0.5 * math.log(2.0 * math.pi)
        # d/dx log Φ(x) = φ(x) / Φ(x), computed in logs so deep tails do not underflow.
        step = (math.log(cdf) - log_p) / math.exp(log_density - math.log(cdf))
        x -= step
        if abs(step) <= 1e-15 * max(1.0, abs(x)):
            break
    return x


def mean_ci95(values: ArrayLike) -> tuple[float, float]:
    """The mean of ``values`` and the half-width of its normal-approximation 95% interval.

    The half-width is ``Z95 · s / sqrt(n)`` with ``s`` the sample standard deviation (ddof=1),
    so the interval is ``mean ± half_width``. With fewer than two values there is no spread to
    measure and the half-width is 0 (for no values the mean is NaN).

    Args:
        values: the sample, any array-like of numbers (flattened); shape (n,).

    Returns:
        ``(mean, half_width)`` as Python floats.

    >>> mean_ci95([2.0, 4.0])  # s = sqrt(2), so the half-width is Z95 · sqrt(2) / sqrt(2)
    (3.0, 1.959963984540054)
    >>> mean_ci95([5.0])
    (5.0, 0.0)
    """
    data = np.asarray(values, dtype=np.float64).ravel()
    n = data.size
    if n == 0:
        return math.nan, 0.0
    mean = float(data.mean())
    if n < 2:
        return mean, 0.0
    return mean, float(Z95 * data.std(ddof=1) / math.sqrt(n))


def wilson_interval(successes: float, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a success probability (Wilson 1927, JASA 22:209-212).

    Unlike the normal interval ``p̂ ± z·sqrt(p̂(1-p̂)/n)`` it stays inside [0, 1] and does not
    collapse to a point when every game is won or lost, which suits win rates (no command
    prints one yet: ``rlkit play`` reports points per game with ``mean_ci95``). Draws may
    count as half a success (``successes`` need not be an integer).

    Args:
        successes: points scored, in [0, n].
        n: trials (games); 0 gives the uninformative interval (0, 1).
        z: the normal quantile of the confidence level; ``Z95`` for 95%.

    Returns:
        ``(lower, upper)`` bounds of the success probability.

    Raises:
        SpecError: ``n`` is negative, or ``successes`` is NaN or outside [0, n].

    >>> lo, hi = wilson_interval(10, 10)
    >>> round(lo, 4), hi
    (0.7225, 1.0)
    >>> [round(b, 4) for b in wilson_interval(5, 10)]
    [0.2366, 0.7634]
    """
    if n < 0:
        raise SpecError(f"the number of trials must be at least 0, got {n}")
    if not 0.0 <= successes <= n:  # also catches NaN
        raise SpecError(f"successes must lie in [0, {n}], got {successes}")
    if n == 0:
        return 0.0, 1.0
    p_hat = successes / n
    z2 = z * z
    denominator = 1.0 + z2 / n
    centre = (p_hat + z2 / (2.0 * n)) / denominator
    half = z / denominator * math.sqrt(p_hat * (1.0 - p_hat) / n + z2 / (4.0 * n * n))
    # The bound at 0 (no successes) or 1 (all successes) is exact in theory; set it exactly,
    # and clip round-off elsewhere.
    lower = 0.0 if successes == 0 else max(0.0, centre - half)
    upper = 1.0 if successes == n else min(1.0, centre + half)
    return lower, upper
