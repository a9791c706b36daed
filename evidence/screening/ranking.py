"""Predicted relevance of citations for the screening queue: pure functions, no database.

Ranking orders the queue; it never excludes anything. Before the review has enough decisions of
both kinds the score is the share of the review's PICO terms a record mentions; after that it is a
TF-IDF + logistic-regression model fitted on the decisions so far.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# Fewer labelled records than this per class and the model would learn noise: use PICO matching.
MIN_PER_CLASS = 5


@dataclass(frozen=True)
class Ranking:
    scores: list[float]
    method: str  # "model" or "pico"


def term_pattern(terms: Sequence[str]) -> re.Pattern | None:
    """One case-insensitive pattern matching any term as a whole word (longest first)."""
    cleaned = sorted({term.strip() for term in terms if term and term.strip()}, key=len, reverse=True)
    if not cleaned:
        return None
    return re.compile(r"\b(" + "|".join(re.escape(term) for term in cleaned) + r")\b", re.IGNORECASE)


def pico_score(text: str, terms: Sequence[str]) -> float:
    """Share of distinct PICO terms the text mentions, in [0, 1]."""
    pattern = term_pattern(terms)
    if pattern is None or not terms:
        return 0.0
    found = {match.lower() for match in pattern.findall(text or "")}
    return len(found) / len({term.strip().lower() for term in terms if term.strip()})


def relevance_scores(texts: Sequence[str], labels: Sequence[int | None], pico_terms: Sequence[str]) -> Ranking:
    """Score every text; ``labels`` holds 1 (include), 0 (exclude) or None (not decided) per text."""
    if len(texts) != len(labels):
        raise ValueError(f"texts ({len(texts)}) and labels ({len(labels)}) must have the same length")
    known = [i for i, label in enumerate(labels) if label is not None]
    positives = sum(1 for i in known if labels[i] == 1)
    if positives < MIN_PER_CLASS or len(known) - positives < MIN_PER_CLASS:
        return Ranking([pico_score(text, pico_terms) for text in texts], "pico")
    return Ranking(_model_scores(texts, known, labels), "model")


def _model_scores(texts: Sequence[str], known: list[int], labels: Sequence[int | None]) -> list[float]:
    # sklearn is imported here so the web process does not pay for it on every request.
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True, stop_words="english")
    matrix = vectorizer.fit_transform([text or "" for text in texts])
    model = LogisticRegression(class_weight="balanced", max_iter=1000)
    model.fit(matrix[known], [labels[i] for i in known])
    positive_column = list(model.classes_).index(1)
    return [float(p) for p in model.predict_proba(matrix)[:, positive_column]]
