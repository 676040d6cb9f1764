"""The detector's count quantiles equal scipy.stats' (computed without importing it in the worker)."""

import numpy as np
import pytest

from divert.seasonal import _nbinom_ppf, _poisson_ppf, nb_quantile


@pytest.fixture(scope="module")
def stats():
    """scipy.stats, imported by the worker that runs these tests only: at collection it would cost
    every worker a second and a half."""
    from scipy import stats

    return stats


def _inputs(seed: int, size: int = 20_000):
    rng = np.random.default_rng(seed)
    q = np.concatenate([rng.uniform(0.5, 0.99999, size), np.full(size, 0.99), np.full(size, 0.999)])
    return rng, q


def test_poisson_quantile_is_scipys(stats):
    rng, q = _inputs(1)
    mu = np.exp(rng.uniform(np.log(1e-6), np.log(5000), len(q)))
    np.testing.assert_array_equal(_poisson_ppf(q, mu), stats.poisson.ppf(q, mu))


def test_negative_binomial_quantile_is_scipys(stats):
    rng, q = _inputs(2)
    n = np.exp(rng.uniform(np.log(1e-3), np.log(1e4), len(q)))
    p = rng.uniform(1e-4, 1 - 1e-6, len(q))
    np.testing.assert_array_equal(_nbinom_ppf(q, n, p), stats.nbinom.ppf(q, n, p))


def test_nb_quantile_picks_the_law_by_dispersion(stats):
    mean = np.array([4.0, 4.0, 0.0, 250.0])
    variance = np.array([4.0, 12.0, 0.0, 900.0])
    n = 250.0**2 / (900.0 - 250.0)
    expected = [stats.poisson.ppf(0.99, 4.0), stats.nbinom.ppf(0.99, 2.0, 1 / 3), 0.0,
                stats.nbinom.ppf(0.99, n, n / (n + 250.0))]
    assert nb_quantile(0.99, mean, variance).tolist() == expected
