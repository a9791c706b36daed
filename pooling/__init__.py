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
loo          leave-one-out refits all at once (O(k) per refit)
smallstudy   rank correlation test, trim-and-fill, influence diagnostics
proportions  exact (Clopper-Pearson) and Wilson intervals for one proportion
glmm         random-effects logistic model for proportions (rma.glmm PLO)
multilevel   two-level model for repeated time points (rma.mv study/time)
"""

from pooling.analysis import MetaAnalysis, analyse
from pooling.api import analyse_request, answer
from pooling.model import PoolCore, pool_arrays

__all__ = ["MetaAnalysis", "PoolCore", "analyse", "analyse_request", "answer", "pool_arrays"]
