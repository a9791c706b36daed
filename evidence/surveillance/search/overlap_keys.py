"""Keys for the weaker overlapping-cohort flag: a first author as surname + initial, a centre as its distinctive
words, recruitment years as an interval.

Two reports by "Zhang H" (PubMed's "Last Initials"), "Huayong Zhang" (a paper's by-line) or "Zhang, Huayong"
share the key ``zhang h``; a surname alone is no key, since common surnames would flag unrelated cohorts.
"""

from __future__ import annotations

import re
import unicodedata

# Words any institution's name may carry; a shared centre needs two shared words besides these.
# fmt: off
GENERIC_WORDS = frozenset({
    "the", "of", "and", "de", "la", "le", "les", "du", "des", "der", "und", "y", "s", "first", "second", "third",
    "hospital", "hospitals", "hopital", "university", "universite", "universita", "universitaire", "medical",
    "medicine", "school", "centre", "center", "centro", "department", "clinic", "clinical", "college",
    "affiliated", "faculty", "institute", "general", "people", "peoples",
})
# fmt: on
_INITIALS = re.compile(r"^[A-Z]{1,4}$")


def _words(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode().casefold()
    return re.findall(r"[a-z0-9]+", folded)


def _key(surname: str, initial: str) -> str:
    words, first = _words(surname), _words(initial)
    return f"{' '.join(words)} {first[0][0]}" if words and first else ""


def author_key(name: str, surname: str = "") -> str:
    """'Zhang H', 'Huayong Zhang' or 'Zhang, Huayong' → 'zhang h'; '' when no initial is known.

    ``surname`` (a study's or citation's first-author field) says which part of a by-line is the surname.
    """
    name = (name or "").strip()
    if "," in name:
        last, _, first = name.partition(",")
        return _key(last, first)
    parts = name.split()
    if len(parts) < 2:
        return ""
    hint = " ".join(_words(surname))
    for cut in range(1, len(parts)):
        head, tail = " ".join(parts[:cut]), " ".join(parts[cut:])
        if hint and " ".join(_words(tail)) == hint:
            return _key(tail, head)  # "Huayong Zhang"
        if hint and " ".join(_words(head)) == hint:
            return _key(head, tail)  # "Zhang Huayong", "Zhang H"
    if _INITIALS.match(parts[-1]):
        return _key(" ".join(parts[:-1]), parts[-1])  # PubMed's "Last Initials"
    return _key(parts[-1], parts[0])


def first_author_key(authors: list[str], first_author: str) -> str:
    """The key of a report's (or study's) first author: the by-line's first name, else the field itself."""
    return author_key(authors[0] if authors else "", first_author) or author_key(first_author)


def has_surname(key: str, surname: str) -> bool:
    """Whether ``key`` ('zhang h') is of this surname ('Zhang'); any key when no surname is stated."""
    words = " ".join(_words(surname))
    return not words or key.rpartition(" ")[0] == words


def centres_match(one: str, other: str) -> bool:
    """'Nanjing Drum Tower Hospital' matches 'The Affiliated Drum Tower Hospital of Nanjing University'."""
    words, other_words = _words(one), _words(other)
    if not words or not other_words:
        return False
    if words == other_words:
        return True
    distinct, other_distinct = set(words) - GENERIC_WORDS, set(other_words) - GENERIC_WORDS
    smaller, larger = sorted((distinct, other_distinct), key=len)
    return len(smaller) >= 2 and smaller <= larger


def recruitment_interval(start: int | None, end: int | None) -> tuple[int, int] | None:
    """The years recruited, a single stated year standing for both ends; None when neither is stated."""
    if start is None and end is None:
        return None
    return (start if start is not None else end, end if end is not None else start)


def years_overlap(one: tuple[int, int] | None, other: tuple[int, int] | None) -> bool | None:
    """Whether two recruitment intervals share a year; None when either is unknown."""
    if one is None or other is None:
        return None
    return one[0] <= other[1] and other[0] <= one[1]
