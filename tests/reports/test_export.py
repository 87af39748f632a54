"""The HTML export of a run: no code, charts drawn offline with plotly.js once."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest


@pytest.mark.notebook
def test_html_has_no_code_and_every_chart_with_plotlyjs_once(scheduled):
    _, record = scheduled
    html = record.html.read_text()
    executed = record.ipynb.read_text()

    assert "CODE-MARKER-setup" in executed
    assert "CODE-MARKER-setup" not in html
    assert "fixture_data.site_summary()" not in html
    assert "PARAMS target=&#x27;aws&#x27; hours=3" in html or "PARAMS target='aws' hours=3" in html
    # a cell tagged report-hide ran (its output is in the notebook) but is left out of the HTML
    assert "HIDDEN-MARKER" in executed and "HIDDEN-MARKER" not in html
    # a progress bar (a widget with no HTML copy) would show its first frame forever: it is left out
    assert "PROGRESS-MARKER" in executed and "PROGRESS-MARKER" not in html
    # two charts, the explorer's static copy of its chart; plotly.js itself once
    assert html.count('class="plotly-graph-div"') == 3
    assert html.count("plotly.js v") == 1
    assert "Energy of site-a" in html and "Anomalies of site-a" in html
    # nothing loaded from the network: no remote script, no widget manager from a CDN
    assert not re.search(r"<script[^>]+src=\"https?:", html)
    assert "html-manager" not in html
    # the summary heading the page
    assert "energy-run-summary" in html and "succeeded" in html


@pytest.mark.notebook
@pytest.mark.browser
def test_the_exported_report_draws_its_charts_in_a_browser_with_no_network(scheduled, tmp_path):
    _, record = scheduled
    # every request but file:// goes to a closed port: nothing can come from the network
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    assert browser, "make test installs Chromium; install it (Debian: apt-get install chromium) to run this test"
    command = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--proxy-server=http://127.0.0.1:9",
        f"--user-data-dir={tmp_path}",
        "--virtual-time-budget=5000",
        "--dump-dom",
        record.html.as_uri(),
    ]
    dom = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True).stdout

    assert dom.count("plotly-graph-div js-plotly-plot") == 3  # plotly marks each div it has drawn
    assert dom.count('class="main-svg"') >= 3
    assert "Energy of site-a" in dom
