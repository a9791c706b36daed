"""The normal and chi-square functions every answer needs, in the standard library.

Importing ``scipy.special`` costs ~200 ms, more than the rest of ``python -m pooling``; a z-test
answer needs only these, so scipy is imported lazily where a function needs more (t quantiles for
Hartung-Knapp, incomplete beta for exact intervals, the GLMM).

- Normal: ``math.erfc``, and its inverse by Newton steps on it (:func:`norm_ppf`).
- Chi-square with integer df (Q has k - 1): for df > 100 the regularised incomplete gamma function
  (series or continued fraction, Numerical Recipes 6.2); otherwise the survival function is a finite sum, Poisson terms for
  even df and the normal tail plus terms for odd df (Abramowitz & Stegun 26.4.4-26.4.5), summed in log
  space so large Q and large df neither overflow nor underflow; the quantile by Newton steps on it from
  the Wilson-Hilferty start (Johnson, Kotz & Balakrishnan 1994, ch. 18).
"""

from __future__ import annotations

import math


def norm_sf(z: float) -> float:
    """P(Z > z)."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def norm_ppf(p: float) -> float:
    """Normal quantile: a start good to 4.5e-4 (Abramowitz & Stegun 26.2.23), then Newton steps on the exact
    lower tail 0.5 erfc(-x / sqrt 2) to full double precision.  ``statistics.NormalDist`` gives the same
    numbers, but importing it brings random, decimal and fractions into every start of python -m pooling."""
    if not 0.0 < p < 1.0:
        if p in (0.0, 1.0):
            return math.copysign(math.inf, p - 0.5)
        raise ValueError(f"p must be in [0, 1], got {p!r}")
    if p > 0.5:
        return -norm_ppf(1.0 - p)  # 1 - p is exact for p >= 1/2
    t = math.sqrt(-2.0 * math.log(p))
    x = -(t - (2.515517 + 0.802853 * t + 0.010328 * t * t) / (1 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t**3))
    for _ in range(6):
        step = (0.5 * math.erfc(-x / math.sqrt(2.0)) - p) / (math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi))
        x -= step
        if abs(step) <= 1e-15 * max(1.0, abs(x)):
            break
    return x


def _log_terms(df: int, x: float) -> list[float]:
    """log of the finite-sum terms of the chi-square survival function (module docstring)."""
    half = 0.5 * x
    if df % 2 == 0:
        return [-half + j * math.log(half) - math.lgamma(j + 1) for j in range(df // 2)] if x > 0 else [0.0]
    # odd df: erfc(sqrt(x/2)) + sum_{j=1}^{(df-1)/2} x^(j-1/2) e^(-x/2) / Gamma(j + 1/2)
    return [-half + (j - 0.5) * math.log(x) - math.lgamma(j + 0.5) - (j - 0.5) * math.log(2.0)
            for j in range(1, (df + 1) // 2)] if x > 0 else []  # fmt: skip


LARGE_DF = 100  # beyond this the finite sum is long: the incomplete gamma function below is quicker


def _log_front(a: float, x: float) -> float:
    """log(x^a e^-x / Gamma(a)) for a > 50, written as a (log1p(t) - t) + log(a)/2 - log(2 pi)/2 - (Stirling's
    remainder), t = (x - a)/a: the plain form subtracts numbers of size a log a and loses ~1e-10 at df = 1e5."""
    t = (x - a) / a
    stirling = 1.0 / (12 * a) - 1.0 / (360 * a**3) + 1.0 / (1260 * a**5)
    return a * (math.log1p(t) - t) + 0.5 * math.log(a) - 0.5 * math.log(2 * math.pi) - stirling


def _gamma_q(a: float, x: float) -> float:
    """Regularised upper incomplete gamma Q(a, x): the series for P when x < a + 1, else the continued
    fraction for Q by the modified Lentz method (Press et al. 2007, Numerical Recipes 3rd ed., 6.2), to full
    double precision; keeps scipy out of a large-k answer (importing it costs more than the answer)."""
    log_front = _log_front(a, x)
    if x < a + 1.0:
        term = total = 1.0 / a
        ap = a
        for _ in range(100_000):
            ap += 1.0
            term *= x / ap
            total += term
            if abs(term) < abs(total) * 1e-17:
                break
        return 1.0 - total * math.exp(log_front)
    tiny = 1e-300
    b = x + 1.0 - a
    c, d = 1.0 / tiny, 1.0 / b
    h = d
    for i in range(1, 100_000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        h *= d * c
        if abs(d * c - 1.0) < 1e-17:
            break
    return math.exp(log_front) * h


def chi2_sf(df: int, x: float) -> float:
    """P(X > x) for chi-square with integer df >= 1."""
    if x <= 0:
        return 1.0
    if math.isinf(x):
        return 0.0
    if df > LARGE_DF:
        return _gamma_q(0.5 * df, 0.5 * x)
    if x <= 0:
        return 1.0
    if math.isinf(x):
        return 0.0
    terms = _log_terms(df, x)
    if df % 2 == 1:
        terms.append(
            math.log(math.erfc(math.sqrt(0.5 * x))) if x < 1400 else -0.5 * x - 0.5 * math.log(math.pi * 0.5 * x)
        )
    top = max(terms)
    return min(1.0, math.exp(top) * math.fsum(math.exp(t - top) for t in terms))


def _chi2_pdf(df: int, x: float) -> float:
    return math.exp((0.5 * df - 1) * math.log(x) - 0.5 * x - 0.5 * df * math.log(2.0) - math.lgamma(0.5 * df))


def chi2_isf(df: int, p: float) -> float:
    """x with P(X > x) = p (upper quantile), by Newton steps kept positive; relative accuracy ~1e-14."""
    z = norm_ppf(1.0 - p)
    c = 2.0 / (9.0 * df)
    x = max(df * (1.0 - c + z * math.sqrt(c)) ** 3, 1e-8)
    for _ in range(100):
        step = (chi2_sf(df, x) - p) / _chi2_pdf(df, x)
        new = x + step if x + step > 0 else 0.5 * x
        if abs(new - x) <= 1e-15 * max(1.0, new):
            return new
        x = new
    return x
