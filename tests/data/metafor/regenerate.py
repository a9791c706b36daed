"""Re-run oracle.R on the request of every case (or of the named cases) and rewrite its ``expected``.

Run from the repository root: ``python tests/data/metafor/regenerate.py [cases/name.json ...]``.
Needs Rscript with metafor, lme4 and jsonlite (Debian: r-cran-metafor r-cran-lme4 r-cran-jsonlite).
A new case is a file ``cases/<name>.json`` holding ``{"request": {...}}``; this script fills ``expected``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def regenerate(path: Path) -> None:
    case = json.loads(path.read_text())
    run = subprocess.run(
        ["Rscript", str(HERE / "oracle.R")], input=json.dumps(case["request"]), capture_output=True, text=True
    )
    if run.returncode != 0:
        raise SystemExit(f"{path.name}: oracle failed\n{run.stderr}")
    case["expected"] = json.loads(run.stdout)
    path.write_text(json.dumps(case, indent=1, ensure_ascii=False) + "\n")
    print(f"{path.name}: {'error: ' + case['expected']['error'] if 'error' in case['expected'] else 'ok'}")


if __name__ == "__main__":
    paths = [Path(p) for p in sys.argv[1:]] or sorted((HERE / "cases").glob("*.json"))
    for path in paths:
        regenerate(path if path.is_absolute() or path.exists() else HERE / "cases" / path.name)
