"""Back-transformations of pooled estimates to the natural scale (metafor ``transf.*``).

- ``RR``, ``OR``: exp.
- ``PLO``: inverse logit, 1/(1 + exp(-x)) (metafor ``transf.ilogit``).
- ``PAS``: sin(x)^2, 0 below 0 and 1 above pi/2 (metafor ``transf.iarcsin``).
- ``PFT``: inverse of the Freeman-Tukey double arcsine with the harmonic mean n of
  the studies' sample sizes (Miller 1978, Am Stat 32:138; metafor ``transf.ipft.hm``):
  p = (1 - sgn(cos 2x) sqrt(1 - (sin 2x + (sin 2x - 1/sin 2x)/n)^2)) / 2,
  clipped to 0 and 1 outside the transformation's range for that n.
"""

from __future__ import annotations

import math

import numpy as np

BACK_TRANSFORMED = ("RR", "OR", "PLO", "PAS", "PFT")


def _iarcsin(x: float) -> float:
    if x < 0:
        return 0.0
    if x > np.pi / 2:
        return 1.0
    return float(np.sin(x) ** 2)


def _pft(p: float, n: float) -> float:
    """Freeman-Tukey transform of a proportion p at sample size n (metafor transf.pft)."""
    x = p * n
    return 0.5 * (np.arcsin(np.sqrt(x / (n + 1))) + np.arcsin(np.sqrt((x + 1) / (n + 1))))


def ipft(x: float, n: float) -> float:
    """Inverse Freeman-Tukey transform at sample size n (Miller 1978)."""
    if x > _pft(1.0, n):
        return 1.0
    if x < _pft(0.0, n):
        return 0.0
    s = np.sin(2 * x)
    inner = 1 - (s + (s - 1 / s) / n) ** 2
    return float(0.5 * (1 - np.sign(np.cos(2 * x)) * np.sqrt(inner)))


def harmonic_mean(ni) -> float:
    """Harmonic mean of sample sizes, 1/mean(1/n)."""
    return float(1.0 / np.mean(1.0 / np.asarray(ni, dtype=float)))


def back_transform(measure: str, x: float, ni=None) -> float:
    """Back-transform one value of ``measure`` to the natural scale.

    Parameters
    ----------
    measure : str
        One of :data:`BACK_TRANSFORMED`.
    x : float
        Value on the analysis scale.
    ni : array_like, optional
        Per-study sample sizes (needed for ``PFT``).
    """
    if measure in ("RR", "OR"):
        return float(np.exp(x))
    if measure == "PLO":
        return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))
    if measure == "PAS":
        return _iarcsin(x)
    if measure == "PFT":
        if ni is None:
            raise ValueError("PFT back-transformation needs the sample sizes ni")
        return ipft(x, harmonic_mean(ni))
    raise ValueError(f"no back-transformation for {measure!r}; allowed: {BACK_TRANSFORMED}")
