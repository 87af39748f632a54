"""The dashboard's pages as a person uses them: open one and wait until it is usable, close it as a tab is closed,
and record everything it asks for and every error it logs."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from energy_lib.workbook.notebook.dashboard import PAGES

# when each page is usable: its main content drawn by the page's live kernel (widgets render only once the
# page has connected to its kernel; the report's charts are its last outputs)
USABLE = {
    "03-explore-readings": "() => { const c = document.querySelector('.js-plotly-plot');"
    " return !!(c && c.layout && c.offsetHeight > 0) }",
    "04-report-business": "() => { const c = [...document.querySelectorAll('.js-plotly-plot')];"
    " return c.length === 6 && c.every(chart => chart.layout && chart.offsetHeight > 0) }",
    "05-operate-pipeline": "() => [...document.querySelectorAll('.widget-button')]"
    ".some(b => b.innerText.includes('Redrive'))",
    "08-browse-raw-files": "() => [...document.querySelectorAll('.widget-html')]"
    ".some(h => h.innerText.includes('Page 1:'))",
    "09-control-simulator": "() => [...document.querySelectorAll('.widget-button')]"
    ".some(b => b.innerText.includes('Run once'))",
    "10-assess-fleet-performance": "() => { const c = [...document.querySelectorAll('.js-plotly-plot')];"
    " return c.length === 5 && c.every(chart => chart.layout && chart.offsetHeight > 0) }",
    "11-review-report-history": "() => [...document.querySelectorAll('.widget-vbox')]"
    ".some(b => /Figure|No report run|No run recorded/.test(b.innerText))",
}
assert set(USABLE) == set(PAGES), "every page of the dashboard needs its usable condition here"


@dataclass
class Traffic:
    """Every request a page made and every error it logged."""

    requests: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # requests that failed or answered 4xx/5xx
    errors: list[str] = field(default_factory=list)  # console errors and uncaught exceptions

    def watch(self, page: Any) -> Traffic:
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("requestfailed", lambda request: self.failed.append(f"{request.url}: {request.failure}"))
        page.on("response", lambda answer: answer.status >= 400 and self.failed.append(f"{answer.status} {answer.url}"))
        page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        return self

    def hosts(self) -> set[str]:
        """The hosts (with ports) of every request to the network (``data:`` and ``blob:`` need none)."""
        return {urlsplit(url).netloc for url in self.requests if urlsplit(url).scheme in {"http", "https", "ws", "wss"}}


def open_usable(page: Any, url: str, name: str, query: str = "") -> float:
    """Open page ``name`` of the dashboard at ``url`` and wait until it is usable; the time that took. [s]"""
    started = time.monotonic()
    page.goto(f"{url}/voila/render/{name}.ipynb{'?' + query if query else ''}", wait_until="commit")
    page.wait_for_function(USABLE[name], polling=50)
    return time.monotonic() - started


def close_tab(page: Any) -> None:
    """Close the page as a person closes its tab: its unload handlers run (Voilà's sends a beacon that ends the
    page's kernel). Its window (the page's own browser context, as :func:`~tests.browser.conftest.new_tab` opens
    one) stays open, as a person's browser does, so that the beacon is delivered: closing the context at once
    dropped it now and then (CI, 2026-12-07: the page's websocket closed, no shutdown came, the culler ended the
    kernel 36 s later). The contexts close with the browser."""
    page.close(run_before_unload=True)
