"""``python -m pooling``: read one JSON request on stdin, write one JSON answer on stdout.

Exit status 0 for an answer, 2 for ``{"error": ...}`` (unknown measure, method
or test; bad study data; malformed JSON).
"""

from __future__ import annotations

import json
import os
import sys

# One answer is a few vector passes: a multi-threaded BLAS only adds start-up and, on a busy machine,
# spinning threads (measured: 5x slower REML at k = 100,000 with two CPUs shared).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from pooling.api import answer


def main() -> int:
    """Run the command-line contract; returns the exit status."""
    try:
        request = json.load(sys.stdin)
    except json.JSONDecodeError as exc:
        result = {"error": f"request is not valid JSON: {exc}"}
    else:
        result = answer(request)
    # dumps, not dump: dump encodes chunk by chunk in Python, dumps in one C call (3x quicker at k = 10,000)
    sys.stdout.write(json.dumps(result, allow_nan=False) + "\n")
    return 2 if "error" in result else 0


if __name__ == "__main__":
    status = main()
    sys.stdout.flush()
    # The answer is written and nothing else is open: skip the interpreter's teardown of numpy's modules
    # (~10 ms of a ~70 ms process).
    os._exit(status)
