"""rlkit.stats: the normal distribution, the mean's 95% interval and the Wilson interval."""

import doctest
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import rlkit.stats
from rlkit.errors import SpecError
from rlkit.stats import Z95, mean_ci95, normal_cdf, normal_quantile, wilson_interval


def test_doctests():
    assert doctest.testmod(rlkit.stats).failed == 0


def test_z95_is_the_0975_normal_quantile():
    scipy_stats = pytest.importorskip("scipy.stats")
    assert scipy_stats.norm.ppf(0.975) == Z95
    assert normal_quantile(0.975) == pytest.approx(Z95, rel=1e-15)
    assert normal_cdf(Z95) == pytest.approx(0.975, rel=1e-15)


def test_normal_quantile_and_cdf_match_scipy_into_the_tails():
    norm = pytest.importorskip("scipy.stats").norm
    probabilities = np.concatenate(
        [np.logspace(-300, -1, 200), np.linspace(0.01, 0.99, 197), 1.0 - np.logspace(-15, -1, 50)]
    )
    for p in probabilities:
        assert normal_quantile(float(p)) == pytest.approx(norm.ppf(p), rel=1e-14, abs=1e-14)
    for x in np.linspace(-37.0, 8.0, 451):
        assert normal_cdf(float(x)) == pytest.approx(norm.cdf(x), rel=1e-12)


def test_normal_quantile_ends_and_bad_probabilities():
    assert normal_quantile(0.0) == -math.inf
    assert normal_quantile(1.0) == math.inf
    assert normal_quantile(0.5) == 0.0
    for bad in (-0.1, 1.5, math.nan):
        with pytest.raises(SpecError, match="probability"):
            normal_quantile(bad)


@given(st.floats(min_value=1e-300, max_value=1.0 - 1e-12))
def test_normal_quantile_inverts_the_cdf(p):
    x = normal_quantile(p)
    assert normal_cdf(x) == pytest.approx(p, rel=1e-12)
    if p >= 1e-8:  # 1 - p then keeps enough of p's digits for the mirror image to compare
        assert normal_quantile(1.0 - p) == pytest.approx(-x, rel=1e-6, abs=1e-9)


def test_mean_ci95_is_z95_standard_errors():
    values = np.random.default_rng(0).normal(3.0, 2.0, size=50)
    mean, half = mean_ci95(values)
    assert mean == pytest.approx(values.mean(), rel=1e-15)
    assert half == pytest.approx(1.959963984540054 * values.std(ddof=1) / math.sqrt(50), rel=1e-15)
    assert mean_ci95([1.0, 3.0]) == (2.0, Z95)  # s = sqrt(2), sqrt(n) = sqrt(2)


def test_mean_ci95_small_samples():
    assert mean_ci95([4.0]) == (4.0, 0.0)
    mean, half = mean_ci95([])
    assert math.isnan(mean) and half == 0.0
    assert mean_ci95(np.ones((2, 3))) == (1.0, 0.0)  # flattened; no spread


@given(
    st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=30),
    st.floats(-1e3, 1e3),
    st.floats(0.1, 10.0),
)
def test_mean_ci95_moves_with_shift_and_scale(values, shift, scale):
    mean, half = mean_ci95(values)
    shifted_mean, shifted_half = mean_ci95([scale * v + shift for v in values])
    assert shifted_mean == pytest.approx(scale * mean + shift, rel=1e-9, abs=1e-6)
    assert shifted_half == pytest.approx(scale * half, rel=1e-6, abs=1e-6)


def test_wilson_interval_matches_newcombe_1998():
    """Newcombe 1998 (Statistics in Medicine 17:857), Table I, Wilson score method."""
    expected = {
        (81, 263): (0.2553, 0.3662),
        (15, 148): (0.0624, 0.1605),
        (0, 20): (0.0, 0.1611),
        (1, 29): (0.0061, 0.1718),
    }
    for (successes, n), bounds in expected.items():
        assert [round(b, 4) for b in wilson_interval(successes, n)] == list(bounds)


def test_wilson_interval_edges():
    assert wilson_interval(0, 0) == (0.0, 1.0)
    assert wilson_interval(0, 10)[0] == 0.0
    assert wilson_interval(10, 10)[1] == 1.0
    # A wider z gives a wider interval.
    narrow, wide = wilson_interval(3, 10, z=1.0), wilson_interval(3, 10, z=3.0)
    assert wide[0] < narrow[0] and narrow[1] < wide[1]
    for successes, n in ((11, 10), (-1, 10), (math.nan, 10), (0, -1)):
        with pytest.raises(SpecError):
            wilson_interval(successes, n)


@given(st.integers(1, 10_000), st.floats(0.0, 1.0))
def test_wilson_interval_contains_the_rate_and_is_symmetric(n, fraction):
    successes = round(fraction * n * 2) / 2  # draws count half
    lower, upper = wilson_interval(successes, n)
    assert 0.0 <= lower <= successes / n <= upper <= 1.0
    mirror = wilson_interval(n - successes, n)
    assert mirror[0] == pytest.approx(1.0 - upper, abs=1e-12)
    assert mirror[1] == pytest.approx(1.0 - lower, abs=1e-12)
