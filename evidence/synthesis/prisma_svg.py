"""The PRISMA 2020 flow diagram (template for updated reviews) as plain SVG, drawn from counts.

No Django and no I/O: the counts come in, the SVG string goes out. Boxes and arrows follow Page MJ et al.
BMJ 2021;372:n71, Figure 1 (updated systematic reviews, databases and registers only): a left column for
the studies of the previous version, the flow of new records, and the total. Every diagram has a <title>
and a <desc> that states every count, so a screen reader gets the whole diagram as text.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from html import escape

WIDTH = 780
BOX_W = 240
WRAP = 36  # characters per line that fit a box at 12 px
TOP = 40
LINE = 16
PAD = 8
GAP = 26
FONT = 'font-family="system-ui, sans-serif" font-size="12"'
COLUMNS = {"previous": 10, "main": 270, "side": 530}


@dataclass(frozen=True)
class PrismaFlow:
    """What one diagram shows. Sources map a label ('PubMed searches') to a count of records."""

    previous_studies: int
    previous_reports: int
    identified_by_source: dict[str, int]
    duplicates_removed: int
    records_screened: int
    records_excluded: int
    reports_assessed: int
    reports_excluded_by_reason: dict[str, int] = field(default_factory=dict)
    new_studies: int = 0
    new_reports: int = 0
    previous_label: str = "previous version of review"
    reports_not_retrieved: int = 0  # a version stored before this count existed reads 0

    @property
    def reports_sought(self) -> int:
        return self.reports_assessed + self.reports_not_retrieved

    @property
    def total_studies(self) -> int:
        return self.previous_studies + self.new_studies

    @property
    def total_reports(self) -> int:
        return self.previous_reports + self.new_reports


@dataclass(frozen=True)
class _Box:
    column: str
    y: int
    lines: tuple[str, ...]

    @property
    def x(self) -> int:
        return COLUMNS[self.column]

    @property
    def height(self) -> int:
        return PAD * 2 + LINE * len(self.lines)


def _wrap(lines: tuple[str, ...]) -> tuple[str, ...]:
    """Wrap to the box; "(n = 9)" never breaks (no-break spaces)."""
    kept = (line.replace("(n = ", "(n\u00a0=\u00a0") for line in lines)
    return tuple(part for line in kept for part in textwrap.wrap(line, WRAP, subsequent_indent="  ") or [""])


def _boxes(flow: PrismaFlow) -> dict[str, _Box]:
    """Rows of (main, side) boxes stacked downwards; the previous version's box beside the first row."""
    identified = tuple(f"{source} (n = {n})" for source, n in flow.identified_by_source.items()) or ("none (n = 0)",)
    reasons = tuple(f"{reason} (n = {n})" for reason, n in flow.reports_excluded_by_reason.items())
    excluded = sum(flow.reports_excluded_by_reason.values())
    rows = [
        (("identified", ("Records identified from:", *identified)),
         ("duplicates", ("Records removed before screening:", f"duplicate records (n = {flow.duplicates_removed})"))),
        (("screened", (f"Records screened (n = {flow.records_screened})",)),
         ("excluded", (f"Records excluded (n = {flow.records_excluded})",))),
        (("sought", (f"Reports sought for retrieval (n = {flow.reports_sought})",)),
         ("not_retrieved", (f"Reports not retrieved (n = {flow.reports_not_retrieved})",))),
        (("assessed", (f"Reports assessed for eligibility (n = {flow.reports_assessed})",)),
         ("reasons", (f"Reports excluded (n = {excluded}){':' if reasons else ''}", *reasons))),
        (("new", (f"New studies included in review (n = {flow.new_studies})",
                  f"Reports of new included studies (n = {flow.new_reports})")),),
        (("total", (f"Total studies included in review (n = {flow.total_studies})",
                    f"Reports of total included studies (n = {flow.total_reports})")),),
    ]  # fmt: skip
    previous = (
        f"Studies included in {flow.previous_label} (n = {flow.previous_studies})",
        f"Reports of studies included in {flow.previous_label} (n = {flow.previous_reports})",
    )
    boxes = {"previous": _Box("previous", TOP, _wrap(previous))}
    y = TOP
    for row in rows:
        placed = [_Box(column, y, _wrap(lines)) for column, (_, lines) in zip(("main", "side"), row)]
        boxes.update({name: box for (name, _), box in zip(row, placed)})
        y = max(box.y + box.height for box in placed) + GAP
    return boxes


def _rect(box: _Box, fill: str) -> str:
    text = "".join(
        f'<text x="{box.x + PAD}" y="{box.y + PAD + LINE * (i + 1) - 4}" xml:space="preserve">{escape(line)}</text>'
        for i, line in enumerate(box.lines)
    )
    return (
        f'<rect x="{box.x}" y="{box.y}" width="{BOX_W}" height="{box.height}" rx="3" '
        f'fill="{fill}" stroke="#1a1a1a"/>{text}'
    )


def _arrow(x1: float, y1: float, x2: float, y2: float, prefix: str) -> str:
    return f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#1a1a1a" marker-end="url(#{prefix}-arrow)"/>'


def _arrows(b: dict[str, _Box], prefix: str) -> list[str]:
    mid = COLUMNS["main"] + BOX_W / 2
    down = [("identified", "screened"), ("screened", "sought"), ("sought", "assessed"), ("assessed", "new")]
    parts = [_arrow(mid, b[a].y + b[a].height, mid, b[c].y, prefix) for a, c in [*down, ("new", "total")]]
    sides = (("identified", "duplicates"), ("screened", "excluded"), ("sought", "not_retrieved"))
    for main, side in (*sides, ("assessed", "reasons")):
        y = b[main].y + min(b[main].height, b[side].height) / 2
        parts.append(_arrow(COLUMNS["main"] + BOX_W, y, COLUMNS["side"], y, prefix))
    previous, total = b["previous"], b["total"]
    x = previous.x + BOX_W / 2
    y = total.y + total.height / 2
    parts.append(f'<polyline points="{x},{previous.y + previous.height} {x},{y} {COLUMNS["main"] - 2},{y}" '
                 f'fill="none" stroke="#1a1a1a" marker-end="url(#{prefix}-arrow)"/>')  # fmt: skip
    return parts


def count_rows(flow: PrismaFlow) -> list[tuple[str, int]]:
    """Every count of the diagram as (stage, n): the page shows them as a table beside the figure, readable on a
    phone and by a screen reader in table mode (the SVG's text is too small at phone widths)."""
    rows = [(f"Studies included in {flow.previous_label}", flow.previous_studies)]
    rows.append((f"Reports of studies included in {flow.previous_label}", flow.previous_reports))
    rows += [(f"Records identified: {source}", n) for source, n in flow.identified_by_source.items()]
    rows += [("Duplicate records removed", flow.duplicates_removed), ("Records screened", flow.records_screened)]
    rows += [("Records excluded", flow.records_excluded), ("Reports sought for retrieval", flow.reports_sought)]
    rows += [("Reports not retrieved", flow.reports_not_retrieved)]
    rows += [("Reports assessed for eligibility", flow.reports_assessed)]
    rows += [(f"Reports excluded: {reason}", n) for reason, n in flow.reports_excluded_by_reason.items()]
    rows += [("New studies included", flow.new_studies), ("Reports of new included studies", flow.new_reports)]
    rows += [("Total studies included", flow.total_studies), ("Reports of total included studies", flow.total_reports)]
    return rows


def describe(flow: PrismaFlow) -> str:
    sources = ", ".join(f"{source} {n}" for source, n in flow.identified_by_source.items()) or "none"
    reasons = ", ".join(f"{reason} {n}" for reason, n in flow.reports_excluded_by_reason.items()) or "none"
    return (
        f"Studies included in {flow.previous_label}: {flow.previous_studies} ({flow.previous_reports} reports). "
        f"Records identified: {sources}. Duplicates removed: {flow.duplicates_removed}. "
        f"Records screened: {flow.records_screened}; excluded: {flow.records_excluded}. "
        f"Reports sought for retrieval: {flow.reports_sought}; not retrieved: {flow.reports_not_retrieved}. "
        f"Reports assessed for eligibility: {flow.reports_assessed}; excluded: {reasons}. "
        f"New studies included: {flow.new_studies} ({flow.new_reports} reports). "
        f"Total studies included: {flow.total_studies} ({flow.total_reports} reports)."
    )


def prisma_svg(flow: PrismaFlow, *, title: str, id_prefix: str = "prisma") -> str:
    boxes = _boxes(flow)
    height = max(box.y + box.height for box in boxes.values()) + 12
    headings = (("previous", "Previous studies"), ("main", "Identification of new studies via databases"))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'role="img" aria-labelledby="{id_prefix}-t {id_prefix}-d">',
        f'<title id="{id_prefix}-t">{escape(title)}</title><desc id="{id_prefix}-d">{escape(describe(flow))}</desc>',
        f'<defs><marker id="{id_prefix}-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#1a1a1a"/></marker></defs>',
        f'<g {FONT} fill="#1a1a1a">',
        *(f'<text x="{COLUMNS[column]}" y="24" font-weight="bold">{escape(text)}</text>' for column, text in headings),
    ]
    for name, box in boxes.items():
        parts.append(_rect(box, "#f2f2f2" if name in {"previous", "total"} else "#ffffff"))
    parts += [f'<g fill="none">{arrow}</g>' for arrow in _arrows(boxes, id_prefix)]
    parts.append("</g></svg>")
    return "".join(parts)
