"""Benchmark of the pooling core (a script, not a test).

Run: ``.venv/bin/python bench/pooling.py``.  Prints the median wall time of

- the core answer (estimate, SE, CI, PI, tau^2, I^2, Q) for DL and REML at
  k = 10, 1,000 and 100,000 (targets: k=10 DL < 0.1 ms, REML < 0.3 ms;
  k=1,000 REML < 3 ms; k=100,000 REML < 25 ms, DL < 3 ms);
- the full answer (plus tau^2 CI, leave-one-out and Egger) at k = 10;
- a seed-review-sized problem: 11 outcomes with k <= 9 through :func:`pooling.answer`.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pooling import analyse, answer, pool_arrays
from pooling.effects import generic


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
        requests.append({"measure": "MC", "method": "REML", "ri": 0.5, "studies": studies})
    return requests


def main() -> None:
    """Print the benchmark table."""
    print(f"{'what':<44}{'median':>12}{'best':>12}")
    for k in (10, 1_000, 100_000):
        yi, vi = data(k)
        for method in ("DL", "REML"):
            t = timed(lambda yi=yi, vi=vi, m=method: pool_arrays(yi, vi, method=m))
            fit = pool_arrays(yi, vi, method=method)
            print(f"core {method:<5} k={k:<8} ({fit.iterations:>2} it)".ljust(44) + fmt(t))
    yi, vi = data(10)
    effects = generic(yi, vi)
    for method in ("DL", "REML"):
        t = timed(lambda m=method: analyse(effects, method=m))
        print(f"full answer {method:<5} k=10".ljust(44) + fmt(t))
    requests = seed_review()
    t = timed(lambda: [answer(r) for r in requests])
    print("seed review: 11 outcomes, k <= 9 (answer)".ljust(44) + fmt(t))


if __name__ == "__main__":
    main()
