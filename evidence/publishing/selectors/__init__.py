"""Reads for the public evidence pages: one published version, ready to render, every number pre-formatted.

Nothing here pools or plots: a page shows the stored rows of one immutable ReviewVersion (its stored SVG and
its stored PRISMA counts); the only live reads are the review's status, its last search, the screening done
since the latest version (on that version's page) and the studies' current retraction/correction flags,
which a reader must see even on an old version.

`published` holds the rule of what is public at all (a review once published, a study once approved and in
a published version); every other module reads through it.

`text` formats numbers and sentences; `stamp` keys the page cache and lists the home page; `rows`, `safety`
and `studies` build a version's sections; `pages` puts them together. Callers import from here.
"""

from evidence.publishing.selectors.pages import (
    PendingPage,
    ReviewPage,
    StudyPage,
    pending_page,
    review_page,
    study_page,
)
from evidence.publishing.selectors.published import (
    public_review,
    public_studies,
    public_study_ids,
    published_reviews,
    version_study_ids,
)
from evidence.publishing.selectors.rows import published_version, published_versions, row_view
from evidence.publishing.selectors.stamp import ReviewStamp, home_rows, review_stamp
from evidence.publishing.selectors.text import interval_text, number, p_text

__all__ = [
    "PendingPage",
    "ReviewPage",
    "ReviewStamp",
    "StudyPage",
    "home_rows",
    "interval_text",
    "number",
    "p_text",
    "pending_page",
    "public_review",
    "public_studies",
    "public_study_ids",
    "published_reviews",
    "published_version",
    "published_versions",
    "review_page",
    "review_stamp",
    "row_view",
    "study_page",
    "version_study_ids",
]
