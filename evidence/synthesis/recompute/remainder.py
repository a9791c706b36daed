"""The published remainder: the part of a published pooled row that the studies extracted here do not account for.

Under the inverse-variance model a published row with estimate θ and 95% CI (l, u) carries total weight
W = 1/SE², SE = (u − l)/(2·z). If the extracted studies it pooled have effects yᵢ and weights wᵢ = 1/vᵢ, the
rest of the row is one aggregate input with weight W − Σwᵢ and effect (W·θ − Σwᵢyᵢ)/(W − Σwᵢ). Pooling that
aggregate with the extracted studies by fixed effect gives back θ and SE exactly (the fixed-effect estimate
is a weighted mean: a weighted sub-mean can be taken out and put back; Borenstein et al. 2009,
*Introduction to Meta-Analysis*, ch. 11), and a new study then updates the row as if every study were there.

Pure arithmetic: no Django, no database.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Z975 = 1.959963984540054


@dataclass(frozen=True)
class PublishedEstimate:
    """A published row as printed: estimate and 95% CI on the natural scale (ratios are pooled as logs)."""

    estimate: float
    ci_lb: float | None
    ci_ub: float | None
    log: bool = False
    decimals: int = 2  # the printed precision: a rounding of ±half a unit in the last digit


@dataclass(frozen=True)
class Remainder:
    yi: float  # on the pooling scale (log for ratios)
    vi: float
    published_weight: float  # W
    published_se: float
    extracted_weight: float  # Σwᵢ
    extracted_weighted_effect: float  # Σwᵢyᵢ

    @property
    def weight(self) -> float:
        return 1.0 / self.vi

    def derivation(self) -> dict:
        return {
            "published_se": self.published_se,
            "published_weight": self.published_weight,
            "extracted_weight": self.extracted_weight,
            "extracted_weighted_effect": self.extracted_weighted_effect,
            "weight": self.weight,
            "effect": self.yi,
            "variance": self.vi,
        }


@dataclass(frozen=True)
class NoRemainder:
    reason: str


def _scale(value: float, log: bool) -> float:
    return math.log(value) if log else value


def published_remainder(published: PublishedEstimate, extracted: list[tuple[float, float]]) -> Remainder | NoRemainder:
    """The aggregate (yi, vi) left of ``published`` once the extracted studies' (yᵢ, vᵢ) are taken out.

    Impossible remainders say why: no CI (the weight is unknown), a non-positive remainder weight (the
    extracted studies already outweigh the published row), or a rounding conflict (the remainder weight is
    smaller than the uncertainty that the printed rounding of the CI puts on W).
    """
    low, high, log = published.ci_lb, published.ci_ub, published.log
    if low is None or high is None:
        return NoRemainder("the published row gives no 95% CI, so its weight cannot be derived")
    if log and min(low, published.estimate) <= 0:
        return NoRemainder("a published ratio and its CI must be positive")
    se = (_scale(high, log) - _scale(low, log)) / (2 * Z975)
    if se <= 0:
        return NoRemainder("the published 95% CI has no width, so its weight cannot be derived")
    total = 1.0 / se**2
    extracted_weight = sum(1.0 / vi for _, vi in extracted)
    weighted_effect = sum(yi / vi for yi, vi in extracted)
    left = total - extracted_weight
    if left <= 0:
        return NoRemainder(
            f"negative remainder: the extracted studies carry weight {extracted_weight:.3g}, more than the whole "
            f"published row (W = 1/SE² = {total:.3g} from its CI), so they cannot be part of it as extracted"
        )
    if extracted_weight >= _smallest_weight(published):
        return NoRemainder(
            f"rounding conflict: the remainder's weight ({left:.3g} of {total:.3g}) is within the rounding of "
            "the printed CI, so it cannot be told from zero"
        )
    theta = _scale(published.estimate, log)
    return Remainder((total * theta - weighted_effect) / left, 1.0 / left, total, se, extracted_weight, weighted_effect)


def _smallest_weight(published: PublishedEstimate) -> float:
    """W from the widest CI that rounds to the printed one."""
    half = 0.5 * 10.0**-published.decimals
    low = published.ci_lb - half
    if published.log and low <= 0:
        return 0.0
    se = (_scale(published.ci_ub + half, published.log) - _scale(low, published.log)) / (2 * Z975)
    return 1.0 / se**2
