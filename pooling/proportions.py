"""Confidence intervals for one proportion x/n: exact (Clopper-Pearson) and Wilson score.

Both behave at x = 0 and x = n, where a Wald interval collapses: 0 of 161 gives the exact
interval 0 to 1 - (alpha/2)^(1/161) = 2.3% at 95%.  They serve a single study and a pooled
total where the random-effects logistic model (:mod:`pooling.glmm`) cannot be fitted.

- Exact: lower = Beta^{-1}(alpha/2; x, n - x + 1) (0 when x = 0), upper =
  Beta^{-1}(1 - alpha/2; x + 1, n - x) (1 when x = n) (Clopper & Pearson 1934, Biometrika
  26:404-413; R ``binom.test``).
- Wilson: (p + z^2/2n -+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n) (Wilson 1927, J Am Stat
  Assoc 22:209-212; R ``prop.test(correct = FALSE)``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pooling.distributions import norm_ppf

METHODS = ("exact", "wilson")


@dataclass(frozen=True)
class ProportionInterval:
    """A proportion with its confidence interval.

    Attributes
    ----------
    events, n : int
        Patients with the event and patients at risk.
    estimate : float
        x / n.
    ci_lb, ci_ub : float
        Interval bounds (proportions, not percent).
    level : float
        Confidence level in percent.
    method : str
        ``exact`` (Clopper-Pearson) or ``wilson``.
    """

    events: int
    n: int
    estimate: float
    ci_lb: float
    ci_ub: float
    level: float
    method: str


def _check(events, n, level: float, method: str) -> tuple[int, int]:
    if method not in METHODS:
        raise ValueError(f"unknown interval method {method!r}; allowed: {', '.join(METHODS)}")
    for name, value in (("xi", events), ("ni", n)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
            raise ValueError(f"field {name!r} must be a whole number, got {value!r}")
    if n < 1:
        raise ValueError(f"field 'ni' must be >= 1, got {n!r}")
    if not 0 <= events <= n:
        raise ValueError(f"field 'xi' must be between 0 and ni = {n:g}, got {events!r}")
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 100:
        raise ValueError(f"field 'level' must be a number in (0, 100) percent, got {level!r}")
    return int(events), int(n)


def proportion_interval(events, n, *, level: float, method: str) -> ProportionInterval:
    """x/n with an exact or Wilson interval at ``level`` percent (module docstring).

    Raises
    ------
    ValueError
        Naming the field: counts that are not whole numbers, x outside 0..n, a bad level or method.
    """
    x, n = _check(events, n, level, method)
    from scipy import special  # lazy: keeps ``python -m pooling`` start-up fast

    alpha = 1.0 - level / 100.0
    if method == "exact":
        lb = 0.0 if x == 0 else float(special.betaincinv(x, n - x + 1, alpha / 2))
        ub = 1.0 if x == n else float(special.betaincinv(x + 1, n - x, 1 - alpha / 2))
    else:
        z = norm_ppf(1 - alpha / 2)
        p, z2 = x / n, z * z
        centre, half = p + z2 / (2 * n), z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
        lb, ub = (centre - half) / (1 + z2 / n), (centre + half) / (1 + z2 / n)
        lb, ub = max(lb, 0.0), min(ub, 1.0)
    return ProportionInterval(x, n, x / n, lb, ub, float(level), method)
