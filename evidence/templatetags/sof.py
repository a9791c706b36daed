"""``{{ rows|sof_marks }}``: the footnote marks the SoF rows use, each with the GRADE domain it stands in."""

import re

from django import template

register = template.Library()

_MARKED = re.compile(r"^(?P<domain>.+?) \((?P<mark>[^)]{1,3})\)$")  # "study design (*)", "imprecision (b)"


@register.filter
def sof_marks(rows) -> list[tuple[str, str]]:
    """[("*", "study design"), ("a", "inconsistency"), …] in the order marks first appear."""
    marks: dict[str, str] = {}
    for row in rows or []:
        for each in [row, *(getattr(row, "subgroups", None) or [])]:
            for reason in getattr(each, "reasons", None) or []:
                match = _MARKED.match(str(reason))
                if match:
                    marks.setdefault(match["mark"], match["domain"])
    return sorted(marks.items(), key=lambda item: (item[0] != "*", item[0]))
