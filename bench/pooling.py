"""Benchmark of the pooling core beside R's metafor (a script, not a test).

Run: ``.venv/bin/python bench/pooling.py``.  Exits 1 when a target is missed.  When ``Rscript`` with
metafor is installed it times metafor on the same data (``rma``, ``rma.glmm``) and prints the ratio
metafor / pooling per k and method; otherwise it says so and times pooling alone.  Prints the median
wall time of

- the core answer (estimate, SE, CI, PI, tau^2, I^2, Q) for DL and REML at
  k = 10, 1,000 and 100,000 (targets: k=10 DL < 0.1 ms, REML < 0.3 ms;
  k=1,000 REML < 3 ms; k=100,000 REML < 25 ms, DL < 3 ms);
- the full answer (plus tau^2 CI, leave-one-out and Egger) at k = 10;
- a seed-review-sized problem: 11 outcomes with k <= 9 through :func:`pooling.answer`;
- the random-effects logistic model at k = 10 (target < 20 ms);
- ``python -m pooling`` answering a k = 10 request as a whole process, the request on stdin (target < 100 ms),
  and the full answer at k = 10,000 for DL and REML the same way (target < 1 s).

Targets are checked on the median of the runs (20 runs of a whole process; in-process calls repeated for
0.3 s); the best run is printed beside it.  metafor is timed by R's own clock over a batch of calls.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as python -m pooling: single-threaded BLAS (see __main__)

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pooling import analyse, answer, pool_arrays
from pooling.effects import generic
from pooling.glmm import glmm_proportions


def timed(fn, *, min_time: float = 0.3, max_runs: int = 2000) -> tuple[float, float]:
    """(median, best) seconds per call over repeated runs (at least 5).

    The best time is the less noisy figure on a shared machine.
    """
    fn()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < 5 or (time.perf_counter() - start < min_time and len(times) < max_runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times)


def fmt(t: tuple[float, float]) -> str:
    """Median and best time in milliseconds."""
    return f"{t[0] * 1e3:9.4f} ms{t[1] * 1e3:9.4f} ms"


def data(k: int, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Heterogeneous synthetic outcome: tau^2 = 0.1, vi ~ U(0.01, 0.1)."""
    rng = np.random.default_rng(seed)
    vi = rng.uniform(0.01, 0.1, k)
    yi = rng.normal(0.3, np.sqrt(vi + 0.1))
    return yi, vi


def seed_review() -> list[dict]:
    """Eleven MC outcomes with 2-9 studies each, like the seed review."""
    rng = np.random.default_rng(7)
    requests = []
    for j in range(11):
        k = 2 + j % 8
        studies = [
            {
                "label": f"S{i}",
                "m_pre": float(rng.uniform(15, 30)),
                "sd_pre": float(rng.uniform(3, 9)),
                "m_post": float(rng.uniform(10, 25)),
                "sd_post": float(rng.uniform(3, 9)),
                "ni": int(rng.integers(4, 40)),
            }
            for i in range(k)
        ]
        requests.append({"measure": "MC", "method": "REML", "level": 95, "ri": 0.5, "studies": studies})
    return requests


# (label, k, method) -> target in seconds, checked on the median time
TARGETS = {
    ("core", 10, "DL"): 0.1e-3, ("core", 10, "REML"): 0.3e-3, ("core", 1_000, "REML"): 3e-3,
    ("core", 100_000, "REML"): 25e-3, ("core", 100_000, "DL"): 3e-3,
    ("glmm", 10, "ML"): 20e-3, ("cli", 10, "REML"): 100e-3,
    ("cli full answer", 10_000, "DL"): 1.0, ("cli full answer", 10_000, "REML"): 1.0,
}  # fmt: skip

R_TIMER = r"""
suppressPackageStartupMessages(library(metafor))
d <- read.csv(commandArgs(TRUE)[1]); what <- commandArgs(TRUE)[2]; method <- commandArgs(TRUE)[3]
run <- if (what == "glmm") {
  function() rma.glmm(measure = "PLO", xi = d$xi, ni = d$ni, method = "ML")
} else function() rma(d$yi, d$vi, method = method)
ok <- tryCatch({ run(); TRUE }, error = function(e) FALSE)
if (!ok) { cat("NA\n"); quit() }
# proc.time() ticks in milliseconds: time batches of calls, each batch at least 0.2 s, and report the median
# per-call time of five batches
batch <- 1; repeat { t0 <- proc.time()[["elapsed"]]; for (i in seq_len(batch)) run()
  if (proc.time()[["elapsed"]] - t0 >= 0.2 || batch >= 4096) break; batch <- batch * 2 }
times <- sapply(1:5, function(j) { t0 <- proc.time()[["elapsed"]]; for (i in seq_len(batch)) run()
  (proc.time()[["elapsed"]] - t0) / batch })
cat(median(times), "\n")
"""


def metafor_available() -> bool:
    if shutil.which("Rscript") is None:
        return False
    run = subprocess.run(["Rscript", "-e", "library(metafor)"], capture_output=True, text=True)
    return run.returncode == 0


def metafor_time(what: str, method: str, columns: dict) -> float | None:
    """metafor's median time per call on the same data, or None when it fails (e.g. memory at k = 100,000)."""
    with tempfile.TemporaryDirectory() as tmp:
        csv, script = Path(tmp) / "d.csv", Path(tmp) / "t.R"
        names = list(columns)
        rows = zip(*(columns[n] for n in names))
        csv.write_text(",".join(names) + "\n" + "\n".join(",".join(repr(float(v)) for v in r) for r in rows))
        script.write_text(R_TIMER)
        try:
            run = subprocess.run(
                ["Rscript", str(script), str(csv), what, method], capture_output=True, text=True, timeout=600
            )
        except subprocess.TimeoutExpired:
            return None
    try:
        value = float(run.stdout.split()[0])
    except (IndexError, ValueError):
        return None
    return value if value == value and value != float("inf") else None


def cli_time(k: int, method: str, runs: int) -> tuple[float, float]:
    """(median, best) seconds of ``python -m pooling`` answering one request on stdin, as a whole process."""
    yi, vi = data(k)
    request = json.dumps({"measure": "GEN", "method": method, "test": "z", "level": 95,
                          "studies": [{"yi": float(y), "vi": float(v)} for y, v in zip(yi, vi)]})  # fmt: skip
    root = Path(__file__).resolve().parents[1]
    cmd = [sys.executable, "-m", "pooling"]
    run = lambda: subprocess.run(cmd, input=request, capture_output=True, text=True, cwd=root, check=True)  # noqa: E731
    # Timed as installed: `make run`, `make bench` and the image compile the bytecode up front, which an
    # environment with PYTHONDONTWRITEBYTECODE would otherwise recompile on every start (~20 ms here).
    subprocess.run([sys.executable, "-m", "compileall", "-q", "pooling"], cwd=root, check=True)
    run()  # once to warm the file cache
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times)


def glmm_data(k: int = 10):
    rng = np.random.default_rng(5)
    ni = rng.integers(10, 80, k)
    xi = rng.binomial(ni, 1 / (1 + np.exp(-rng.normal(-2.5, 0.8, k))))
    return xi, ni


def report(rows: list, with_r: bool) -> int:
    missed = 0
    print(f"{'what':<34}{'median':>12}{'best':>12}{'target':>10}{'metafor':>12}{'ratio':>8}")
    for label, k, method, t, r_time in rows:  # r_time: seconds, None (metafor failed) or "" (not timed)
        target = TARGETS.get((label, k, method))
        ok = target is None or t[0] < target
        missed += not ok
        goal = "" if target is None else f"{target * 1e3:g} ms" + ("" if ok else " MISSED")
        r = "" if not with_r or r_time == "" else ("failed" if r_time is None else f"{r_time * 1e3:.2f} ms")
        ratio = f"{r_time / t[0]:.0f}x" if with_r and isinstance(r_time, float) else ""
        print(f"{label} {method} k={k}".ljust(34) + fmt(t) + goal.rjust(16) + r.rjust(12) + ratio.rjust(8))
    return missed


def main() -> int:
    """Print the benchmark table; return 1 if a target is missed."""
    with_r = metafor_available()
    print(
        "metafor: "
        + ("timing R's metafor on the same data" if with_r else "Rscript or metafor not installed; pooling alone")
    )
    rows = []
    for k in (10, 1_000, 100_000):
        yi, vi = data(k)
        for method in ("DL", "REML"):
            t = timed(lambda yi=yi, vi=vi, m=method: pool_arrays(yi, vi, method=m, test="z", level=95))
            r_time = metafor_time("rma", method, {"yi": yi, "vi": vi}) if with_r else None
            rows.append(("core", k, method, t, r_time))
    yi, vi = data(10)
    effects = generic(yi, vi)
    for method in ("DL", "REML"):
        rows.append(("full", 10, method, timed(lambda m=method: analyse(effects, method=m, test="z", level=95)), ""))
    requests = seed_review()
    rows.append(("seed review (11 outcomes)", 9, "REML", timed(lambda: [answer(r) for r in requests]), ""))
    xi, ni = glmm_data()
    t = timed(lambda: glmm_proportions(xi, ni, level=95))
    rows.append(("glmm", 10, "ML", t, metafor_time("glmm", "ML", {"xi": xi, "ni": ni}) if with_r else None))
    rows.append(("cli", 10, "REML", cli_time(10, "REML", 20), ""))
    for method in ("DL", "REML"):
        rows.append(("cli full answer", 10_000, method, cli_time(10_000, method, 5), ""))
    missed = report(rows, with_r)
    print(f"{missed} target(s) missed" if missed else "all targets met")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
