"""Figure captions and text alternatives say what the figure draws, and the PRISMA counts exist as text."""

from __future__ import annotations

from types import SimpleNamespace

from django.template.loader import render_to_string

from evidence.synthesis.plots import ForestLine, ForestSummary, forest_svg
from evidence.synthesis.prisma_svg import PrismaFlow, count_rows

RED_LINE = "prediction interval (red line)"


def _forest(lines: list[ForestLine], summary: ForestSummary) -> str:
    figure = forest_svg(lines, summary, title="mRSS at 6 months", axis_label="MD (points)")
    # The row has a prediction interval, as a one-study row can carry one, but the plot decides what is drawn.
    row = SimpleNamespace(pi_lb=-9.0, pi_ub=1.0, awaiting=False, model="", ci_method="", notes="", n_participants=12)
    r = SimpleNamespace(figure=figure, row=row, direction="Lower is better", studies=[], outcome="mRSS", subgroup="")
    return render_to_string("evidence/_forest.html", {"r": r})


def test_it_does_not_caption_a_red_line_a_one_study_plot_does_not_draw():
    html = _forest([ForestLine("Study A 2020", -4.0, -8.0, 0.0, 100.0)], ForestSummary("Pooled", -4.0, -8.0, 0.0))
    assert "<title>Prediction interval</title>" not in html
    assert RED_LINE not in html


def test_it_captions_the_red_line_when_the_plot_draws_it():
    lines = [ForestLine(f"Study {n}", -4.0 + n, -8.0 + n, n, 33.3) for n in range(3)]
    html = _forest(lines, ForestSummary("Pooled", -3.0, -5.0, -1.0, pi_lb=-9.0, pi_ub=3.0))
    assert "<title>Prediction interval</title>" in html
    assert RED_LINE in html


def test_it_gives_every_prisma_count_as_a_row():
    flow = PrismaFlow(
        previous_studies=7, previous_reports=8, identified_by_source={"PubMed searches": 41}, duplicates_removed=3,
        records_screened=38, records_excluded=30, reports_assessed=8, reports_excluded_by_reason={"Not SSc": 5},
        new_studies=2, new_reports=3,
    )  # fmt: skip
    rows = dict(count_rows(flow))
    assert rows["Records identified: PubMed searches"] == 41
    assert rows["Reports excluded: Not SSc"] == 5
    assert rows["Total studies included"] == 9 and rows["Reports of total included studies"] == 11
    assert rows["Reports sought for retrieval"] == 8 and rows["Reports not retrieved"] == 0
    assert len(rows) == 14
