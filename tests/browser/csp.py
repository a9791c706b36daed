"""Content-Security-Policy violations a page reports in Chromium, with JavaScript on or off.

Chromium logs every violation to the console ("Refused to apply inline style because it violates the
following Content Security Policy directive…"), which Playwright passes on as a console message even when the
page runs no JavaScript; with JavaScript on, the page's own ``securitypolicyviolation`` events are kept too.
"""

from __future__ import annotations

# Runs before any page script, outside the page's CSP (Playwright injects it through the DevTools protocol).
LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`);
});
"""


class CspWatch:
    """Attach to a browser context before opening pages; ``violations(page)`` lists what was refused."""

    def __init__(self, context) -> None:
        self.console: list[str] = []
        context.add_init_script(LISTENER)
        context.on("console", self._on_console)

    def _on_console(self, message) -> None:
        if "Content Security Policy" in message.text:
            self.console.append(message.text)

    def violations(self, page, *, javascript: bool = True) -> list[str]:
        events = page.evaluate("window.__cspViolations || []") if javascript else []
        return [*self.console, *events]
