"""Figures shown offline: the plotly mimetype for live frontends and HTML without plotly.js for exports."""

from __future__ import annotations

import pandas as pd

from energy_lib.workbook.notebook import charts, display
from tests.unit.workbook.notebook.test_charts import site_summary


def test_display_bundle_has_the_plotly_mimetype_and_html_without_plotlyjs():
    bundle = display.mimebundle(charts.site_comparison(site_summary()))

    assert set(bundle) == {"application/vnd.plotly.v1+json", "text/html"}
    assert bundle["application/vnd.plotly.v1+json"]["layout"]["yaxis"]["title"]["text"] == "Energy [kWh]"
    html = bundle["text/html"]
    assert 'class="plotly-graph-div"' in html
    assert "Plotly.newPlot" in html
    assert "plotly.js v" not in html  # the library comes once, from setup(), not with each chart
    assert "cdn" not in html.lower()
    assert display.plotlyjs_html().count("plotly.js v") == 1


def test_the_live_chart_has_a_fixed_height_and_no_responsive_config():
    # GIVEN a chart without a height of its own (every chart of the workbook)
    fig = charts.site_comparison(site_summary())
    assert fig.layout.height is None
    # WHEN it is displayed
    live = display.mimebundle(fig)["application/vnd.plotly.v1+json"]
    # THEN the live mimetype carries the height in pixels, and no "responsive": with it, plotly.js sizes the
    # chart to 100 % of a container whose height is auto (an ipywidgets Output in JupyterLab): 0 px
    assert live["layout"]["height"] == display.FIGURE_HEIGHT_PX
    assert not live.get("config", {}).get("responsive")
    # a height the figure sets itself is kept
    tall = display.mimebundle(fig.update_layout(height=700))["application/vnd.plotly.v1+json"]
    assert tall["layout"]["height"] == 700


def test_show_with_skip_empty_displays_nothing_for_a_figure_without_data(capsys):
    display.show(charts.site_comparison(pd.DataFrame()), skip_empty=True)
    assert capsys.readouterr().out == ""

    display.show(charts.site_comparison(site_summary()), skip_empty=True)
    assert "plotly-graph-div" in capsys.readouterr().out


def test_setup_sends_no_plotlyjs_to_a_page_that_loads_it(capsys, monkeypatch):
    monkeypatch.setitem(display._state, "page_has_plotlyjs", False)
    display.setup()
    assert "HTML object" in capsys.readouterr().out  # a notebook, a report: plotly.js once, in the document
    # GIVEN a dashboard page (its template loads plotly.js) WHEN setup runs THEN no copy, the renderer set
    display.page_has_plotlyjs()
    display.setup()
    assert capsys.readouterr().out == ""
    assert display.pio.renderers.default == display.RENDERER
