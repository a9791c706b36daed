"""``python -m pooling``: read one JSON request on stdin, write one JSON answer on stdout.

Exit status 0 for an answer, 2 for ``{"error": ...}`` (unknown measure, method
or test; bad study data; malformed JSON).
"""

from __future__ import annotations

import json
import sys

from pooling.api import answer


def main() -> int:
    """Run the command-line contract; returns the exit status."""
    try:
        request = json.load(sys.stdin)
    except json.JSONDecodeError as exc:
        result = {"error": f"request is not valid JSON: {exc}"}
    else:
        result = answer(request)
    json.dump(result, sys.stdout, allow_nan=False)
    sys.stdout.write("\n")
    return 2 if "error" in result else 0


if __name__ == "__main__":
    sys.exit(main())
