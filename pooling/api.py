"""The request/answer contract shared by ``python -m pooling`` and the Django app.

A request is a dict in the format of ``tests/data/metafor/README.md`` (measure,
method, test, level, ri, studies); the answer is a dict with the field names
that ``tests/data/metafor/oracle.R`` gives from R's metafor.  Use
:func:`analyse_request` for typed results (it raises ``ValueError``) and
:func:`answer` for the JSON-ready dict (it returns ``{"error": ...}`` instead).
"""

from __future__ import annotations

import math
from typing import Any

from pooling import effects as es
from pooling.analysis import MetaAnalysis, analyse
from pooling.estimators import METHODS
from pooling.model import TESTS

_FIELDS = {
    "MC": ("m_pre", "sd_pre", "m_post", "sd_post", "ni"),
    "SMCR": ("m_pre", "sd_pre", "m_post", "ni"),
    "MD": ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"),
    "SMD": ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"),
    "RR": ("ai", "n1i", "ci", "n2i"),
    "OR": ("ai", "n1i", "ci", "n2i"),
    "RD": ("ai", "n1i", "ci", "n2i"),
    "PR": ("xi", "ni"),
    "PLO": ("xi", "ni"),
    "PAS": ("xi", "ni"),
    "PFT": ("xi", "ni"),
    "GEN": ("yi", "vi"),
}


def _options(request: dict[str, Any]) -> tuple[str, str, str, float]:
    measure = request.get("measure", "GEN")
    method = request.get("method", "REML")
    test = request.get("test", "z")
    if measure not in es.MEASURES:
        raise ValueError(f"unknown measure {measure!r}; allowed: {', '.join(es.MEASURES)}")
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; allowed: {', '.join(METHODS)}")
    if test not in TESTS:
        raise ValueError(f"unknown test {test!r}; allowed: {', '.join(TESTS)}")
    if "level" not in request:
        raise ValueError("field 'level' (confidence level in percent) is required; the engine assumes none")
    level = request["level"]
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 100:
        raise ValueError(f"level must be a number in (0, 100) percent, got {level!r}")
    return measure, method, test, float(level)


def _columns(measure: str, studies: list, labels: list) -> dict[str, list]:
    cols: dict[str, list] = {}
    for name in _FIELDS[measure]:
        cols[name] = []
        for i, study in enumerate(studies):
            if name not in study:
                who = f"study {i}" + (f" ({labels[i]!r})" if labels[i] is not None else "")
                raise ValueError(f"{who}: field {name!r} is required for measure {measure}")
            cols[name].append(study[name])
    return cols


def _correlations(request: dict, studies: list, labels: list) -> list:
    """Each study's own ri, else the request's ri; neither is an error (the engine never assumes r)."""
    fallback = request.get("ri")
    out = []
    for i, study in enumerate(studies):
        r = study.get("ri")
        if r is None and fallback is None:
            who = f"study {i}" + (f" ({labels[i]!r})" if labels[i] is not None else "")
            raise ValueError(f"{who}: field 'ri' (pre-post correlation) is missing and the request states no 'ri'")
        out.append(fallback if r is None else r)
    return out


def _effects(measure: str, request: dict, studies: list, labels: list) -> es.EffectSizes:
    c = _columns(measure, studies, labels)
    kw = {"labels": labels}
    if measure == "MC":
        return es.mean_change(*c.values(), _correlations(request, studies, labels), **kw)
    if measure == "SMCR":
        return es.smcr(*c.values(), _correlations(request, studies, labels), **kw)
    if measure == "MD":
        return es.mean_difference(*c.values(), **kw)
    if measure == "SMD":
        return es.smd(*c.values(), **kw)
    if measure in ("RR", "OR", "RD"):
        return es.two_by_two(measure, *c.values(), add=request.get("add"), **kw)
    if measure in ("PR", "PLO", "PAS", "PFT"):
        return es.proportion(measure, *c.values(), add=request.get("add"), **kw)
    return es.generic(*c.values(), **kw)


def analyse_request(request: dict[str, Any]) -> MetaAnalysis:
    """Compute the typed analysis for a request dict.

    Raises
    ------
    ValueError
        For an unknown measure, method or test (naming the allowed values) or bad
        study data (naming the study and the field).
    """
    if not isinstance(request, dict):
        raise ValueError("the request must be a JSON object")
    measure, method, test, level = _options(request)
    studies = request.get("studies")
    if not isinstance(studies, list) or not studies or not all(isinstance(s, dict) for s in studies):
        raise ValueError("'studies' must be a non-empty list of objects")
    labels = [s.get("label") for s in studies]
    effects = _effects(measure, request, studies, labels)
    shown = [str(lab) if lab is not None else str(i + 1) for i, lab in enumerate(labels)]
    ni = [s["ni"] for s in studies] if measure == "PFT" else None
    return analyse(effects, labels=shown, method=method, test=test, level=level, ni=ni)


def to_dict(result: MetaAnalysis, test: str) -> dict[str, Any]:
    """Serialise a :class:`MetaAnalysis` in the oracle's answer format."""
    c = result.core
    out: dict[str, Any] = {
        "k": c.k, "measure": result.measure, "method": c.method, "test": test,
        "yi": list(result.yi), "vi": list(result.vi),
        "estimate": c.estimate, "se": c.se, "statistic": c.statistic, "pval": c.pval,
        "ci_lb": c.ci_lb, "ci_ub": c.ci_ub, "pi_lb": c.pi_lb, "pi_ub": c.pi_ub,
        "tau2": c.tau2, "se_tau2": c.se_tau2, "I2": c.i2, "H2": c.h2,
        "Q": c.q, "Q_pval": c.q_pval, "weights": [r.weight for r in result.rows],
    }  # fmt: skip
    if result.tau2_ci is not None:
        out["tau2_ci_lb"], out["tau2_ci_ub"] = result.tau2_ci.lb, result.tau2_ci.ub
    if result.i2_ci is not None:
        out["I2_ci_lb"], out["I2_ci_ub"] = result.i2_ci
        out["H2_ci_lb"], out["H2_ci_ub"] = result.h2_ci
    out.update(_small_study(result))
    if result.egger is not None:
        out["egger"] = {"statistic": result.egger.statistic, "pval": result.egger.pval}
    if result.leave1out is not None:
        lo = result.leave1out
        out["leave1out"] = {
            "estimate": lo.estimate.tolist(), "ci_lb": lo.ci_lb.tolist(),
            "ci_ub": lo.ci_ub.tolist(), "tau2": lo.tau2.tolist(), "I2": lo.i2.tolist(),
        }  # fmt: skip
        if c.method == "FE":
            out["leave1out"]["tau2"] = []  # metafor's leave1out reports no tau2 for FE fits
    if result.back_transformed is not None:
        bt = result.back_transformed
        out["back_transformed"] = {
            "estimate": bt.estimate, "ci_lb": bt.ci_lb, "ci_ub": bt.ci_ub,
            "pi_lb": bt.pi_lb, "pi_ub": bt.pi_ub,
        }  # fmt: skip
    return out


def json_ready(out: dict[str, Any]) -> dict[str, Any]:
    """Replace every non-finite number by null and list it under ``non_finite`` (path -> "Infinity",
    "-Infinity" or "NaN"), so the answer is strict JSON and a reader still sees what metafor would print."""
    flags: dict[str, str] = {}

    def clean(value, path):
        if isinstance(value, float) and not math.isfinite(value):
            flags[path] = "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
            return None
        if isinstance(value, dict):
            return {k: clean(v, f"{path}.{k}" if path else k) for k, v in value.items()}
        if isinstance(value, list):
            if set(map(type, value)) == {float} and all(map(math.isfinite, value)):
                return value  # the common case, checked in C: a forest of 10,000 rows costs ~1 ms
            return [clean(v, f"{path}[{i}]") for i, v in enumerate(value)]
        return value

    cleaned = clean(out, "")
    if flags:
        cleaned["non_finite"] = flags
    return cleaned


def _level(request: dict[str, Any]) -> float:
    if "level" not in request:
        raise ValueError("field 'level' (confidence level in percent) is required; the engine assumes none")
    return request["level"]


def proportion_answer(request: dict[str, Any]) -> dict[str, Any]:
    """``{"model": "proportion", "xi", "ni", "level"}``: x/n with exact and Wilson intervals."""
    from pooling.proportions import proportion_interval

    for name in ("xi", "ni"):
        if name not in request:
            raise ValueError(f"field {name!r} is required for model 'proportion'")
    level, x, n = _level(request), request["xi"], request["ni"]
    exact = proportion_interval(x, n, level=level, method="exact")
    wilson = proportion_interval(x, n, level=level, method="wilson")
    return {
        "xi": x, "ni": n, "estimate": exact.estimate,
        "exact": {"ci_lb": exact.ci_lb, "ci_ub": exact.ci_ub},
        "wilson": {"ci_lb": wilson.ci_lb, "ci_ub": wilson.ci_ub},
    }  # fmt: skip


def glmm_answer(request: dict[str, Any]) -> dict[str, Any]:
    """``{"model": "glmm", "level", "studies": [{"xi", "ni"}], "add"?}``: metafor ``rma.glmm(measure="PLO")``."""
    from pooling.glmm import glmm_proportions

    if request.get("measure", "PLO") != "PLO" or request.get("method", "ML") != "ML":
        raise ValueError("model 'glmm' fits measure 'PLO' by method 'ML' only")
    studies = request.get("studies")
    if not isinstance(studies, list) or not studies or not all(isinstance(s, dict) for s in studies):
        raise ValueError("'studies' must be a non-empty list of objects")
    cols = _columns("PLO", studies, [s.get("label") for s in studies])
    fit = glmm_proportions(cols["xi"], cols["ni"], level=_level(request), add=request.get("add"))
    out = {
        "k": fit.k, "model": "glmm", "measure": "PLO", "method": "ML",
        "estimate": fit.estimate, "se": fit.se, "statistic": fit.statistic, "pval": fit.pval,
        "ci_lb": fit.ci_lb, "ci_ub": fit.ci_ub, "pi_lb": fit.pi_lb, "pi_ub": fit.pi_ub, "tau2": fit.tau2,
        "Q_LRT": fit.q_lrt, "Q_LRT_pval": fit.q_lrt_pval, "back_transformed": fit.back_transformed(),
    }  # fmt: skip
    if fit.i2 is not None:
        out["I2"], out["H2"] = float(fit.i2), float(fit.h2)
    return out


def multilevel_answer(request: dict[str, Any]) -> dict[str, Any]:
    """``{"model": "multilevel", "level", "studies": [{"study", "time", "yi", "vi"}]}``: metafor
    ``rma.mv(yi, vi, random = ~ 1 | study/time, method = "REML")``."""
    from pooling.multilevel import multilevel

    studies = request.get("studies")
    if not isinstance(studies, list) or not studies or not all(isinstance(s, dict) for s in studies):
        raise ValueError("'studies' must be a non-empty list of objects")
    labels = [s.get("label") for s in studies]
    cols = {name: [] for name in ("study", "time", "yi", "vi")}
    for i, row in enumerate(studies):
        for name in cols:
            if row.get(name) is None:
                who = f"row {i}" + (f" ({labels[i]!r})" if labels[i] is not None else "")
                raise ValueError(f"{who}: field {name!r} is required for model 'multilevel'")
            cols[name].append(row[name])
    pairs = list(zip(map(str, cols["study"]), map(str, cols["time"])))
    if len(set(pairs)) != len(pairs):
        raise ValueError("field 'time': each study has at most one effect per time point")
    fit = multilevel(cols["yi"], cols["vi"], cols["study"], level=_level(request))
    return {
        "k": fit.k, "model": "multilevel", "method": "REML", "estimate": fit.estimate, "se": fit.se,
        "statistic": fit.statistic, "pval": fit.pval, "ci_lb": fit.ci_lb, "ci_ub": fit.ci_ub,
        "sigma2_study": fit.sigma2_study, "sigma2_time": fit.sigma2_time, "Q": fit.q, "Q_pval": fit.q_pval,
    }  # fmt: skip


MODELS = {"proportion": proportion_answer, "glmm": glmm_answer, "multilevel": multilevel_answer}


def _small_study(result: MetaAnalysis) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if result.rank_test is not None:
        out["ranktest"] = {"tau": result.rank_test.tau, "pval": result.rank_test.pval}
    if result.trim_and_fill is not None:
        tf = result.trim_and_fill
        out["trimfill"] = {
            "k0": tf.k0, "se_k0": tf.se_k0, "side": tf.side, "estimate": tf.estimate, "se": tf.se,
            "ci_lb": tf.ci_lb, "ci_ub": tf.ci_ub, "tau2": tf.tau2,
        }  # fmt: skip
    if result.influence is not None:
        inf = result.influence
        names = ("rstandard", "rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "q_del", "hat", "weight")
        out["influence"] = {name: getattr(inf, name).tolist() for name in names}
    return out


def answer(request: dict[str, Any]) -> dict[str, Any]:
    """Answer one request: the oracle-format dict (strict JSON, see :func:`json_ready`), or ``{"error": message}``.

    ``model`` selects ``proportion`` or ``glmm`` (see the functions of those names); without it, ``rma.uni``.
    """
    try:
        if isinstance(request, dict) and "model" in request:
            model = MODELS.get(request["model"])
            if model is None:
                raise ValueError(f"unknown model {request['model']!r}; allowed: {', '.join(MODELS)}")
            return json_ready(model(request))
        result = analyse_request(request)
    except ValueError as exc:
        return {"error": str(exc)}
    return json_ready(to_dict(result, request.get("test", "z")))
