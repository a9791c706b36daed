"""Forest plots as SVG, rendered once when a version is written and stored with it.

Plain SVG built from the numbers (no plotting library at request time or at recompute time): a
forest plot is squares, lines, diamonds and text, and building it directly is ~1,000× faster than
matplotlib for the 1,000-study reviews the recompute benchmark asks for. Every plot carries a
<title> and <desc> as its text alternative; the page shows the same numbers in a table.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass
from html import escape

ROW_HEIGHT = 22
LABEL_WIDTH = 190
PLOT_WIDTH = 320
TEXT_WIDTH = 190
TOP = 34
LINE_HEIGHT = 14  # a wrapped label's extra lines
REMAINDER_WRAP = 27  # characters per line of the remainder's label at font size 12 (fits LABEL_WIDTH)
FONT = 'font-family="system-ui, sans-serif" font-size="12"'


@dataclass(frozen=True)
class ForestLine:
    label: str
    estimate: float
    ci_lb: float
    ci_ub: float
    weight: float | None = None  # percent; None for cumulative lines
    kind: str = "study"  # "study", "new" (not in the published synthesis) or "remainder" (an aggregate row)

    @property
    def label_lines(self) -> list[str]:
        """The remainder's long label wraps in the label column (its full text is also its <title>)."""
        return textwrap.wrap(self.label, REMAINDER_WRAP) if self.kind == "remainder" else [self.label]

    @property
    def height(self) -> int:
        return ROW_HEIGHT + LINE_HEIGHT * (len(self.label_lines) - 1)


@dataclass(frozen=True)
class ForestSummary:
    label: str
    estimate: float
    ci_lb: float
    ci_ub: float
    pi_lb: float | None = None
    pi_ub: float | None = None
    previous: float | None = None  # the previous version's estimate: a faint reference line
    previous_label: str = ""


def forest_svg(
    lines: list[ForestLine],
    summary: ForestSummary | None,
    *,
    title: str,
    axis_label: str,
    null_value: float = 0.0,
    log_scale: bool = False,
    favours: tuple[str, str] = ("", ""),
) -> str:
    values = [v for line in lines for v in (line.ci_lb, line.ci_ub)] + [null_value]
    if summary:
        values += [summary.ci_lb, summary.ci_ub] + [
            v for v in (summary.pi_lb, summary.pi_ub, summary.previous) if v is not None
        ]
    scale = _Scale(values, log_scale)
    lines_height = sum(line.height for line in lines)
    height = TOP + lines_height + ROW_HEIGHT * (2 if summary else 0) + 56
    width = LABEL_WIDTH + PLOT_WIDTH + TEXT_WIDTH
    description = _description(lines, summary)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        # Ids t/d are made unique per page when plots are inlined (selectors_public.rows._svg).
        f'role="img" aria-labelledby="t d">',
        f'<title id="t">{escape(title)}</title><desc id="d">{escape(description)}</desc>',
        f'<g {FONT} fill="#1a1a1a">',
        f'<text x="0" y="16" font-weight="bold">Study</text>'
        f'<text x="{width - 4}" y="16" text-anchor="end" font-weight="bold">Effect [95% CI]{"  Weight" if any(line.weight is not None for line in lines) else ""}</text>',
    ]
    x_null = scale.x(null_value)
    bottom = height - 56
    parts.append(
        f'<line x1="{x_null:.1f}" y1="{TOP - 10}" x2="{x_null:.1f}" y2="{bottom}" stroke="#888" stroke-dasharray="3,3"/>'
    )
    if summary and summary.previous is not None:
        x_previous = scale.x(summary.previous)
        parts.append(
            f'<line x1="{x_previous:.1f}" y1="{TOP - 10}" x2="{x_previous:.1f}" y2="{bottom}" stroke="#0b4f8a" '
            f'stroke-opacity="0.35" stroke-width="2"><title>{escape(summary.previous_label)}</title></line>'
        )
    max_weight = max((line.weight or 0 for line in lines), default=0) or 1
    y = TOP + 12
    for line in lines:
        parts.append(_line_svg(line, y, scale, max_weight, width))
        y += line.height
    if summary:
        parts.append(_summary_svg(summary, TOP + lines_height + ROW_HEIGHT + 6, scale, width))
    parts.append(_axis_svg(scale, bottom, axis_label, favours))
    parts.append("</g></svg>")
    return "".join(parts)


class _Scale:
    def __init__(self, values: list[float], log_scale: bool) -> None:
        self.log = log_scale
        finite = [self._t(v) for v in values if v is not None and math.isfinite(self._t(v))]
        low, high = min(finite), max(finite)
        pad = (high - low) * 0.05 or 1.0
        self.low, self.high = low - pad, high + pad

    def _t(self, v: float) -> float:
        return math.log(v) if self.log and v > 0 else (float("-inf") if self.log else v)

    def x(self, v: float) -> float:
        t = min(max(self._t(v), self.low), self.high)
        return LABEL_WIDTH + (t - self.low) / (self.high - self.low) * PLOT_WIDTH

    def ticks(self) -> list[float]:
        if self.log:
            candidates = [0.01, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500]
            return [t for t in candidates if self.low <= math.log(t) <= self.high]
        step = _nice_step((self.high - self.low) / 5)
        start = math.ceil(self.low / step) * step
        return [start + i * step for i in range(int((self.high - start) / step) + 1)]


def _nice_step(raw: float) -> float:
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def _line_svg(line: ForestLine, y: float, scale: _Scale, max_weight: float, width: int) -> str:
    x1, x2, xe = scale.x(line.ci_lb), scale.x(line.ci_ub), scale.x(line.estimate)
    size = 4 + 8 * math.sqrt((line.weight or max_weight * 0.3) / max_weight)
    weight = f"  {line.weight:.1f}%" if line.weight is not None else ""
    colour = {"new": "#1e7b34", "remainder": "#7a7a7a"}.get(line.kind, "#0b4f8a")
    return (
        _label_svg(line, y) + f'<line x1="{x1:.1f}" y1="{y}" x2="{x2:.1f}" y2="{y}" stroke="#1a1a1a"/>'
        f'<rect x="{xe - size / 2:.1f}" y="{y - size / 2:.1f}" width="{size:.1f}" height="{size:.1f}" fill="{colour}"/>'
        f'<text x="{width - 4}" y="{y + 4}" text-anchor="end">{_interval(line)}{weight}</text>'
    )


def _label_svg(line: ForestLine, y: float) -> str:
    """A study's name; a new study marked "new"; the remainder's long label on two lines, in grey."""
    if line.kind == "new":
        return f'<text x="0" y="{y + 4}">{escape(line.label[:26])} <tspan font-weight="bold" fill="#1e7b34">new</tspan></text>'
    if line.kind == "remainder":
        first, *rest = line.label_lines
        more = "".join(f'<tspan x="0" dy="{LINE_HEIGHT}">{escape(text)}</tspan>' for text in rest)
        return f'<text x="0" y="{y + 4}" fill="#555"><title>{escape(line.label)}</title>{escape(first)}{more}</text>'
    return f'<text x="0" y="{y + 4}">{escape(line.label[:32])}</text>'


def _summary_svg(summary: ForestSummary, y: float, scale: _Scale, width: int) -> str:
    xl, xe, xu = scale.x(summary.ci_lb), scale.x(summary.estimate), scale.x(summary.ci_ub)
    parts = [f'<text x="0" y="{y + 4}" font-weight="bold">{escape(summary.label)}</text>']
    if summary.pi_lb is not None and summary.pi_ub is not None:
        parts.append(
            f'<line x1="{scale.x(summary.pi_lb):.1f}" y1="{y}" x2="{scale.x(summary.pi_ub):.1f}" y2="{y}" '
            f'stroke="#b03a2e" stroke-width="2"><title>Prediction interval</title></line>'
        )
    parts.append(f'<polygon points="{xl:.1f},{y} {xe:.1f},{y - 7} {xu:.1f},{y} {xe:.1f},{y + 7}" fill="#1a1a1a"/>')
    parts.append(f'<text x="{width - 4}" y="{y + 4}" text-anchor="end" font-weight="bold">{_interval(summary)}</text>')
    return "".join(parts)


def _axis_svg(scale: _Scale, y: float, label: str, favours: tuple[str, str]) -> str:
    parts = [f'<line x1="{LABEL_WIDTH}" y1="{y}" x2="{LABEL_WIDTH + PLOT_WIDTH}" y2="{y}" stroke="#1a1a1a"/>']
    for tick in scale.ticks():
        x = scale.x(tick)
        parts.append(
            f'<line x1="{x:.1f}" y1="{y}" x2="{x:.1f}" y2="{y + 4}" stroke="#1a1a1a"/>'
            f'<text x="{x:.1f}" y="{y + 16}" text-anchor="middle">{_number(tick)}</text>'
        )
    parts.append(f'<text x="{LABEL_WIDTH + PLOT_WIDTH / 2}" y="{y + 32}" text-anchor="middle">{escape(label)}</text>')
    left, right = favours
    if left:
        parts.append(f'<text x="{LABEL_WIDTH}" y="{y + 48}">← {escape(left)}</text>')
    if right:
        parts.append(f'<text x="{LABEL_WIDTH + PLOT_WIDTH}" y="{y + 48}" text-anchor="end">{escape(right)} →</text>')
    return "".join(parts)


def _number(value: float) -> str:
    text = f"{value:.2f}" if abs(value) < 100 else f"{value:.0f}"
    return text.replace("-", "−")


def _interval(item) -> str:
    return f"{_number(item.estimate)} [{_number(item.ci_lb)}, {_number(item.ci_ub)}]"


def _description(lines: list[ForestLine], summary: ForestSummary | None) -> str:
    text = "; ".join(f"{line.label}{' (new)' if line.kind == 'new' else ''}: {_interval(line)}" for line in lines[:50])
    if len(lines) > 50:
        text += f"; and {len(lines) - 50} more studies (see the table)"
    if summary:
        text += f". {summary.label}: {_interval(summary)}"
        if summary.previous is not None:
            text += f". {summary.previous_label}"
    return text
