"""Meta-analysis for the living review: effect sizes, pooling, diagnostics.

Pure numpy/scipy, no Django and no I/O (except ``python -m pooling``).
Numbers match R's metafor 3.8; see ``tests/data/metafor/``.

Modules
-------
effects      per-study effect sizes (metafor ``escalc``)
conversions  median/IQR/range, SE/CI, change-score SDs, combining subgroups
estimators   tau^2 estimators (FE, DL, REML, PM, ML, HS, SJ, EB)
model        fast core pooling of arrays (:func:`pool_arrays`)
confint      Q-profile interval for tau^2
diagnostics  leave-one-out, Egger's test, cumulative, subgroups
sensitivity  sensitivity of MC/SMCR pooling to the pre-post correlation
analysis     full answer with forest rows
api          request/answer contract (:func:`answer`)
distributions normal and chi-square functions without scipy (fast start-up)
loo          leave-one-out refits all at once (closed-form downdates, O(1) per refit for FE and DL tau^2)
series       leave-one-out sums at each refit's own tau^2 as power series about the full fit's (O(1) per refit)
smallstudy   rank correlation test, trim-and-fill, influence diagnostics
proportions  exact (Clopper-Pearson) and Wilson intervals for one proportion
glmm         random-effects logistic model for proportions (rma.glmm PLO)
multilevel   two-level model for repeated time points (rma.mv study/time)
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

# Names are resolved on first use (PEP 562): ``python -m pooling`` imports this package before
# ``__main__`` runs, and numpy must not be loaded before ``__main__`` has chosen a single-threaded BLAS
# (OpenBLAS starting its threads doubled the start-up of the whole process, 145 ms against 75 ms).
_HOMES = {
    "MetaAnalysis": "pooling.analysis",
    "analyse": "pooling.analysis",
    "analyse_request": "pooling.api",
    "answer": "pooling.api",
    "PoolCore": "pooling.model",
    "pool_arrays": "pooling.model",
}

__all__ = ["MetaAnalysis", "PoolCore", "analyse", "analyse_request", "answer", "pool_arrays"]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'pooling' has no attribute {name!r}")
    return getattr(import_module(_HOMES[name]), name)
