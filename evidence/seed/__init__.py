"""The seeded MSC–SSc review (Cui et al. 2022): data files copied from the shared seed, and their mapping."""

import json
from functools import cache
from pathlib import Path

SEED_DIR = Path(__file__).resolve().parent


@cache
def seed_json(name: str) -> dict:
    return json.loads((SEED_DIR / name).read_text(encoding="utf-8"))
