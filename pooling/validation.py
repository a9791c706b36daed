"""Input checks: bad input raises ValueError naming the study and the field.

A meta-analysis must never return a silent NaN, so every per-study field is
checked before any formula runs.  Studies are named by their label when one is
given, otherwise by their 0-based index.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def study_name(index: int, labels: Sequence[str] | None = None) -> str:
    """Human-readable name of a study: ``study 3 ('Zhang 2017')`` or ``study 3``."""
    if labels is not None and index < len(labels) and labels[index] is not None:
        return f"study {index} ({labels[index]!r})"
    return f"study {index}"


def as_column(values, field: str, labels: Sequence[str] | None = None, *, k: int | None = None) -> np.ndarray:
    """Convert one per-study field to a finite float array, checking its length.

    Raises
    ------
    ValueError
        On a length mismatch, a non-number, NaN or infinity (naming study and field).
    """
    if np.ndim(values) == 0:
        raise ValueError(f"field {field!r} must be a list with one value per study")
    for i, value in enumerate(values):
        if value is None or isinstance(value, (bool, str)):
            raise ValueError(f"{study_name(i, labels)}: field {field!r} is missing or not a number")
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"field {field!r} must be one-dimensional")
    if k is not None and arr.shape[0] != k:
        raise ValueError(f"field {field!r} has {arr.shape[0]} values for {k} studies")
    bad = ~np.isfinite(arr)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"{study_name(i, labels)}: field {field!r} is {arr[i]} (must be finite)")
    return arr


def require(mask: np.ndarray, field: str, rule: str, values: np.ndarray, labels: Sequence[str] | None) -> None:
    """Raise for the first study where ``mask`` is False: '<study>: field f = x (rule)'."""
    if not mask.all():
        i = int(np.argmin(mask))
        raise ValueError(f"{study_name(i, labels)}: field {field!r} = {values[i]:g} ({rule})")


def check_arrays(yi, vi, labels: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Validate effect sizes and sampling variances for pooling.

    Returns float arrays; raises ValueError for empty input, mismatched lengths,
    NaN/inf or a variance that is not strictly positive.
    """
    yi = np.asarray(yi, dtype=float)
    vi = np.asarray(vi, dtype=float)
    if yi.ndim != 1 or yi.shape != vi.shape:
        raise ValueError(f"yi and vi must be 1-D of equal length, got {yi.shape} and {vi.shape}")
    if yi.shape[0] == 0:
        raise ValueError("no studies to pool (k = 0)")
    if not (np.isfinite(yi).all() and np.isfinite(vi).all() and (vi > 0).all()):
        as_column(yi, "yi", labels)
        as_column(vi, "vi", labels)
        require(vi > 0, "vi", "sampling variance must be > 0", vi, labels)
    return yi, vi
