"""axe-core (shipped inside axe-playwright-python) and a strict markup check, for the browser tests.

A page fails on any serious or critical axe violation of WCAG 2.0/2.1 A and AA or axe's best practices. The markup
check is a small stand-in for the Nu Html Checker: an element closed that was never opened, an element left open
where HTML does not allow an implied end tag, a duplicate id, or a duplicate attribute.
"""

from __future__ import annotations

from html.parser import HTMLParser

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
BLOCKING = {"serious", "critical"}

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
# End tags HTML lets the parser imply; anything else left open is an error.
OPTIONAL_END = {"p", "li", "dt", "dd", "option", "optgroup", "tr", "td", "th", "thead", "tbody", "tfoot", "colgroup"}
# Inside inline SVG, self-closing elements (<rect/>) are well-formed XML.
FOREIGN = {"svg", "math"}


def axe_blocking(page) -> list[str]:
    """Serious and critical axe violations on the page as loaded, one line per rule with its first targets."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]})
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes'][:4]]}"
        for v in results.response["violations"]
        if v["impact"] in BLOCKING
    ]


class _StrictHtml(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.errors: list[str] = []
        self.open: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        self._attributes(tag, attrs)
        if tag not in VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag, attrs):
        self._attributes(tag, attrs)
        if tag not in VOID and not any(t in FOREIGN for t in self.open):
            self.errors.append(f"line {self.getpos()[0]}: <{tag}/> is not a void element")

    def handle_endtag(self, tag):
        if tag in VOID:
            self.errors.append(f"line {self.getpos()[0]}: end tag </{tag}> of a void element")
            return
        if tag not in self.open:
            self.errors.append(f"line {self.getpos()[0]}: </{tag}> closes nothing")
            return
        while self.open:
            top = self.open.pop()
            if top == tag:
                return
            if top not in OPTIONAL_END:
                self.errors.append(f"line {self.getpos()[0]}: <{top}> left open before </{tag}>")

    def _attributes(self, tag, attrs):
        names = [name for name, _ in attrs]
        if len(names) != len(set(names)):
            self.errors.append(f"line {self.getpos()[0]}: <{tag}> repeats an attribute")
        for name, value in attrs:
            if name == "id":
                if value in self.ids:
                    self.errors.append(f"line {self.getpos()[0]}: duplicate id {value!r}")
                self.ids.add(value)


def markup_errors(html: str) -> list[str]:
    parser = _StrictHtml()
    parser.feed(html)
    parser.close()
    if not html.lstrip().lower().startswith("<!doctype html>"):
        parser.errors.append("no <!doctype html>")
    left = [tag for tag in parser.open if tag not in OPTIONAL_END | {"html", "body", "head"}]
    if left:
        parser.errors.append(f"left open at the end: {left}")
    return parser.errors
