"""The focus indicator keeps ≥ 3:1 contrast (WCAG 1.4.11) against every background the stylesheets use."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[3] / "evidence" / "static" / "evidence"
# Every background a focusable element can sit on: the pages' own, and the admin's (Django's defaults: body,
# header, breadcrumbs, module captions, selected rows) under the screening pages.
BACKGROUNDS = {
    "pages.css": ["#ffffff", "#f4f6f8", "#fff1e0", "#e6f0e6"],
    "screening.css": ["#ffffff", "#f8f8f8", "#417690", "#79aec8", "#fff0e0", "#d8f5d0", "#f8d4d4", "#f3ecc8"],
    "api-docs.css": ["#ffffff", "#f4f4f4"],
}


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _focus_colours(css: str) -> list[str]:
    """The colours of the focus rule: its outline and, when there is one, the ring drawn inside it."""
    rule = re.search(r":focus-visible\s*\{([^}]*)\}", css)
    assert rule, "the stylesheet has no :focus-visible rule"
    colours = re.findall(r"#[0-9a-fA-F]{6}\b|#[0-9a-fA-F]{3}\b", rule.group(1))
    return [c if len(c) == 7 else "#" + "".join(ch * 2 for ch in c[1:]) for c in colours]


@pytest.mark.parametrize("sheet", sorted(BACKGROUNDS))
def test_it_keeps_the_focus_ring_visible_on_every_background(sheet):
    colours = _focus_colours((STATIC / sheet).read_text())
    for background in BACKGROUNDS[sheet]:
        best = max(contrast(colour, background) for colour in colours)
        assert best >= 3, f"{sheet}: focus ring {colours} has {best:.2f}:1 on {background}; WCAG 1.4.11 asks 3:1"


def test_it_measures_contrast_as_wcag_does():
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast("#f2a900", "#ffffff") == pytest.approx(2.0, abs=0.05)  # the old ring: too faint
