"""The explorer: real ipywidgets objects, loaders recorded; the static view of one site."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone

import pandas as pd
import pytest

from energy_lib.workbook.notebook import operations, widgets

START = datetime(2025, 6, 11, tzinfo=timezone.utc)
END = datetime(2025, 6, 12, tzinfo=timezone.utc)


class Loaders:
    """Records every call and answers with small frames: every third reading is an anomaly."""

    def __init__(self, fail_for: str | None = None) -> None:
        self.calls: list[tuple[str, str, datetime, datetime]] = []
        self.fail_for = fail_for

    def frame(self, site_id: str, start: datetime, end: datetime) -> pd.DataFrame:
        if site_id == self.fail_for:
            raise RuntimeError(f"no table for {site_id}")
        timestamps = pd.date_range(start, periods=6, freq="h")
        generated = [5.0, -1.0, 7.0, 8.0, -2.0, 6.0]
        frame = pd.DataFrame(
            {"site_id": site_id, "timestamp": timestamps, "energy_generated_kwh": generated, "energy_consumed_kwh": 4.0}
        )
        frame["net_energy_kwh"] = frame["energy_generated_kwh"] - frame["energy_consumed_kwh"]
        frame["anomaly"] = frame["energy_generated_kwh"] < 0
        frame["anomaly_reasons"] = frame["anomaly"].map({True: "negative_generation", False: ""})
        frame["severity"] = frame["anomaly"].map({True: "LOW", False: None})
        return frame

    def readings(self, site_id: str, start: datetime, end: datetime) -> pd.DataFrame:
        self.calls.append(("readings", site_id, start, end))
        return self.frame(site_id, start, end)

    def anomalies(self, site_id: str, start: datetime, end: datetime) -> pd.DataFrame:
        self.calls.append(("anomalies", site_id, start, end))
        frame = self.frame(site_id, start, end)
        return frame[frame["anomaly"]]


def highlighted_rows(table_html: str) -> set[int]:
    """Rows of a Styler table whose CSS rule carries the anomaly background."""
    style_block = table_html.split("</style>")[0]
    rows = set()
    for selectors, properties in re.findall(r"([^{}]+)\{([^}]*)\}", style_block):
        if "#fde0dc" in properties:
            rows |= {int(row) for row in re.findall(r"_row(\d+)_col\d+", selectors)}
    return rows


def make(loaders: Loaders, sites=("site-a", "site-b"), start=START, end=END) -> widgets.Explorer:
    return widgets.explorer(list(sites), loaders.readings, loaders.anomalies, start, end)


def test_creating_the_explorer_draws_the_first_site_once():
    loaders = Loaders()

    explorer = make(loaders)

    assert loaders.calls == [("readings", "site-a", START, END), ("anomalies", "site-a", START, END)]
    assert explorer.view is not None
    assert explorer.view.site_id == "site-a"
    assert len(explorer.view.readings) == 6
    assert "site-a: 6 readings, 2 anomalies" in explorer.message.value
    assert explorer.site.options == ("site-a", "site-b")
    assert explorer.start_date.value == date(2025, 6, 11)
    assert explorer.end_date.value == date(2025, 6, 11)  # end is exclusive: the last day shown is the 11th


def test_picking_another_site_redraws_it():
    loaders = Loaders()
    explorer = make(loaders)
    loaders.calls.clear()

    explorer.site.value = "site-b"

    assert loaders.calls == [("readings", "site-b", START, END), ("anomalies", "site-b", START, END)]
    assert explorer.view.site_id == "site-b"
    assert explorer.view.figure.layout.title.text == "Energy of site-b"


def test_picking_dates_redraws_whole_utc_days():
    loaders = Loaders()
    explorer = make(loaders)
    loaders.calls.clear()

    explorer.end_date.value = date(2025, 6, 13)

    assert loaders.calls[-1] == ("anomalies", "site-a", START, datetime(2025, 6, 14, tzinfo=timezone.utc))
    assert len(loaders.calls) == 2


def test_an_end_before_the_start_says_why_and_leaves_no_stale_chart():
    # GIVEN the explorer drawing site-a
    loaders = Loaders()
    explorer = make(loaders)
    loaders.calls.clear()
    assert explorer.view is not None and "Energy of site-a" in explorer._repr_mimebundle_()["text/html"]

    # WHEN From is moved after To
    explorer.start_date.value = date(2025, 6, 20)

    # THEN nothing is loaded, the chart and tables are gone (also from the static copy) and the message says why
    assert loaders.calls == []
    assert explorer.view is None
    assert "Nothing drawn: To (2025-06-11) is before From (2025-06-20)" in explorer.message.value
    assert "Energy of site-a" not in explorer._repr_mimebundle_()["text/html"]
    assert "before From" in explorer._repr_mimebundle_()["text/html"]
    # WHEN To is moved on or after From again, THEN it draws that range
    explorer.end_date.value = date(2025, 6, 20)
    assert explorer.view is not None and explorer.range[0].day == 20


def test_a_loader_error_after_creation_shows_in_the_message():
    loaders = Loaders(fail_for="site-b")
    explorer = make(loaders)

    explorer.site.value = "site-b"

    assert "no table for site-b" in explorer.message.value
    assert explorer.view is None


def test_a_loader_error_at_creation_is_raised_so_a_report_run_fails():
    with pytest.raises(RuntimeError, match="no table for site-a"):
        make(Loaders(fail_for="site-a"))


def test_start_and_end_may_be_iso_text_and_must_be_ordered():
    loaders = Loaders()
    make(loaders, start="2025-06-11T06:00:00Z", end="2025-06-11T12:00:00+00:00")
    assert loaders.calls[0][2:] == (
        datetime(2025, 6, 11, 6, tzinfo=timezone.utc),
        datetime(2025, 6, 11, 12, tzinfo=timezone.utc),
    )
    with pytest.raises(ValueError, match="after start"):
        make(Loaders(), start=END, end=START)


def test_site_view_highlights_exactly_the_anomalous_rows():
    loaders = Loaders()

    view = widgets.site_view("site-a", START, END, loaders.readings, loaders.anomalies)

    html = view.readings_table().to_html()
    assert highlighted_rows(html) == {1, 4}
    assert len(view.anomalies) == 2
    assert [trace.name for trace in view.figure.data] == ["generated", "consumed", "net", "anomaly"]


def test_site_view_html_has_chart_anomalies_and_table():
    loaders = Loaders()

    html = widgets.site_view("site-a", START, END, loaders.readings, loaders.anomalies).to_html()

    assert 'class="plotly-graph-div"' in html
    assert "Anomalies of site-a" in html
    assert "negative_generation" in html
    assert "2025-06-11 00:00 → 2025-06-12 00:00 UTC" in html


def test_the_widget_display_carries_the_live_widget_and_a_static_copy():
    explorer = make(Loaders())

    bundle = explorer._repr_mimebundle_()

    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == explorer.model_id
    assert "Energy of site-a" in bundle["text/html"]


# --- the range: another site keeps it, another date makes it whole days ------------------------------


def test_picking_another_site_keeps_a_range_that_is_not_whole_days():
    # GIVEN an explorer opened on six hours that start at 06:00
    loaders = Loaders()
    first, last = datetime(2025, 6, 11, 6, tzinfo=timezone.utc), datetime(2025, 6, 11, 12, tzinfo=timezone.utc)
    explorer = make(loaders, start=first, end=last)
    loaders.calls.clear()

    # WHEN another site is picked
    explorer.site.value = "site-b"

    # THEN it is drawn over the same six hours, not over the whole day the pickers show
    assert loaders.calls == [("readings", "site-b", first, last), ("anomalies", "site-b", first, last)]
    assert explorer.range == (first, last)
    assert "2025-06-11 06:00 → 2025-06-11 12:00 UTC" in explorer.message.value


def test_a_date_picked_after_a_site_change_sets_whole_days_and_the_next_site_keeps_them():
    loaders = Loaders()
    explorer = make(loaders, start="2025-06-11T06:00:00Z", end="2025-06-11T12:00:00Z")
    explorer.site.value = "site-b"

    explorer.end_date.value = date(2025, 6, 12)
    explorer.site.value = "site-a"

    two_days = (START, datetime(2025, 6, 13, tzinfo=timezone.utc))
    assert loaders.calls[-4][2:] == two_days  # the date change
    assert loaders.calls[-2:] == [("readings", "site-a", *two_days), ("anomalies", "site-a", *two_days)]


# --- the readings table: a day fits, anomalies are never left out ---------------------------------------


class ManyReadings(Loaders):
    """``count`` readings 5 minutes apart; anomalies at ``anomalous`` positions."""

    def __init__(self, count: int, anomalous: set[int]) -> None:
        super().__init__()
        self.count, self.anomalous = count, anomalous

    def frame(self, site_id: str, start: datetime, end: datetime) -> pd.DataFrame:
        frame = pd.DataFrame(
            {
                "site_id": site_id,
                "timestamp": pd.date_range(start, periods=self.count, freq="5min"),
                "energy_generated_kwh": [-1.0 if i in self.anomalous else 2.0 for i in range(self.count)],
                "energy_consumed_kwh": 1.0,
            }
        )
        frame["net_energy_kwh"] = frame["energy_generated_kwh"] - frame["energy_consumed_kwh"]
        frame["anomaly"] = frame["energy_generated_kwh"] < 0
        frame["anomaly_reasons"] = frame["anomaly"].map({True: "negative_generation", False: ""})
        frame["severity"] = frame["anomaly"].map({True: "LOW", False: None})
        return frame


def test_a_day_of_five_minute_readings_fits_in_the_table_with_its_last_anomaly():
    loaders = ManyReadings(288, anomalous={3, 287})

    view = widgets.site_view("site-a", START, END, loaders.readings, loaders.anomalies)

    html = view.readings_table().to_html()
    assert widgets.MAX_TABLE_ROWS >= 288
    assert html.count("<tr>") == 288 + 1  # header row and every reading
    assert highlighted_rows(html) == {3, 287}
    assert "2025-06-11 23:55" in html
    assert "table shows" not in view.caption


def test_a_longer_range_keeps_every_anomaly_after_the_first_rows_and_says_so():
    limit = widgets.MAX_TABLE_ROWS
    loaders = ManyReadings(limit + 500, anomalous={10, limit + 1, limit + 499})

    view = widgets.site_view("site-a", START, END, loaders.readings, loaders.anomalies)

    rows = widgets.table_rows(view.readings)
    assert len(rows) == limit + 2
    assert rows["anomaly"].sum() == 3
    assert list(rows.index[-2:]) == [limit + 1, limit + 499]  # in time order, after the first rows
    assert highlighted_rows(view.readings_table().to_html()) == {10, limit, limit + 1}
    assert f"the first {limit:,} readings and the 2 anomalies after them" in view.caption


def test_the_caption_counts_one_reading_and_one_anomaly_in_the_singular():
    loaders = ManyReadings(1, anomalous={0})

    view = widgets.site_view("site-a", START, END, loaders.readings, loaders.anomalies)

    assert view.caption.startswith("site-a: 1 reading, 1 anomaly, ")


def test_the_readings_table_has_named_columns_with_units_and_no_index():
    view = widgets.site_view("site-a", START, END, Loaders().readings, Loaders().anomalies)

    frame = view.readings_table().data
    assert list(frame.columns) == [
        "Time [UTC]",
        "Generated [kWh]",
        "Consumed [kWh]",
        "Net [kWh]",
        "Severity",
        "Reasons",
    ]
    assert frame["Time [UTC]"].iloc[1] == "2025-06-11 01:00"
    assert 'class="row_heading' not in view.readings_table().to_html()


# --- no sites: say so, draw nothing ------------------------------------------------------------------------


def test_without_sites_the_explorer_says_so_and_loads_nothing():
    loaders = Loaders()

    explorer = make(loaders, sites=())

    assert loaders.calls == []
    assert explorer.view is None
    assert "No site has readings" in explorer.message.value
    assert explorer.site.disabled
    assert explorer.children == (explorer.message,)
    bundle = explorer._repr_mimebundle_()
    assert "No site has readings" in bundle["text/html"]
    assert "plotly-graph-div" not in bundle["text/html"]


# --- the dead-letter queue and its redrive button ---------------------------------------------------------


class Queue:
    """Two in-memory queues standing in for SQS; ``redrive`` moves everything, as ops.redrive does."""

    def __init__(self, messages: int) -> None:
        self.dead = [f"m{i}" for i in range(messages)]
        self.ingest: list[str] = []

    def load(self) -> pd.DataFrame:
        return pd.DataFrame({"message_id": self.dead, "receive_count": 5}, columns=["message_id", "receive_count"])

    def redrive(self) -> int:
        moved, self.dead = len(self.dead), []
        self.ingest += [f"m{i}" for i in range(moved)]
        return moved


def test_the_redrive_button_moves_the_messages_and_says_how_many():
    queue = Queue(3)
    panel = operations.dead_letters(queue.load, queue.redrive)
    assert "3 messages in the dead-letter queue" in panel.message.value
    assert len(panel.messages) == 3 and panel.moved is None

    panel.button.click()

    assert len(queue.ingest) == 3
    assert panel.moved == 3
    assert "Moved 3 messages back to the ingest queue" in panel.message.value
    assert "The dead-letter queue is empty" in panel.message.value
    assert panel.messages.empty
    assert "Moved 3 messages" in panel._repr_mimebundle_()["text/html"]


def test_redrive_now_redrives_at_creation_for_a_report_run():
    queue = Queue(1)

    panel = operations.dead_letters(queue.load, queue.redrive, redrive_now=True)

    assert queue.ingest == ["m0"]
    assert "Moved 1 message back" in panel.message.value


def test_a_failed_redrive_click_shows_the_error_and_keeps_the_button_usable():
    queue = Queue(2)
    panel = operations.dead_letters(queue.load, lambda: 1 / 0)

    panel.button.click()

    assert "Redrive failed" in panel.message.value and "ZeroDivisionError" in panel.message.value
    assert not panel.button.disabled
    assert queue.dead == ["m0", "m1"]


def test_the_static_copy_of_the_dead_letter_queue_lists_its_messages():
    panel = operations.dead_letters(Queue(2).load, Queue(0).redrive)

    static = panel._repr_mimebundle_()["text/html"]

    assert "2 messages in the dead-letter queue" in static
    assert "m0" in static and "m1" in static


# --- the quarantine browser --------------------------------------------------------------------------------


OBJECTS = pd.DataFrame(
    {
        "key": ["quarantine/readings/raw/a.json.e1.jsonl", "quarantine/files/raw/b.csv"],
        "kind": ["readings", "files"],
        "label": ["rejected readings: raw/a.json", "unparseable file: raw/b.csv"],
        "size_bytes": [120, 30],
        "last_modified": ["2025-06-11T20:00:00Z", "2025-06-11T21:00:00Z"],
    }
)


class Quarantine:
    def __init__(self) -> None:
        self.read: list[str] = []

    def load(self, key: str) -> pd.DataFrame:
        self.read.append(key)
        if "/files/" in key:
            return pd.DataFrame([{"source_key": "raw/b.csv", "reason": "not valid CSV"}])
        return pd.DataFrame(
            [
                {"position": 2, "reasons": "missing_field", "original": '{"site_id": "S1"}'},
                {"position": 7, "reasons": "not_a_number", "original": '{"energy_generated_kwh": "x"}'},
            ]
        )


def test_the_quarantine_browser_shows_the_first_object_at_once_and_another_when_picked():
    quarantine = Quarantine()

    browser = operations.quarantine_browser(OBJECTS, quarantine.load)

    assert quarantine.read == ["quarantine/readings/raw/a.json.e1.jsonl"]
    assert browser.object.options == tuple(zip(OBJECTS["label"], OBJECTS["key"], strict=True))
    assert list(browser.shown["position"]) == [2, 7]
    assert "2 objects in quarantine; showing rejected readings: raw/a.json: 2 rows" in browser.message.value

    browser.object.value = "quarantine/files/raw/b.csv"

    assert quarantine.read[-1] == "quarantine/files/raw/b.csv"
    assert browser.shown["reason"].tolist() == ["not valid CSV"]


def test_the_static_copy_of_the_quarantine_lists_every_object_and_shows_the_first():
    static = operations.quarantine_browser(OBJECTS, Quarantine().load)._repr_mimebundle_()["text/html"]

    assert "unparseable file: raw/b.csv" in static  # listed, though not shown
    assert "not_a_number" in static  # the first object's rejected readings
    assert "not valid CSV" not in static


def test_an_empty_quarantine_says_so():
    quarantine = Quarantine()

    browser = operations.quarantine_browser(OBJECTS.iloc[0:0], quarantine.load)

    assert quarantine.read == []
    assert "The quarantine is empty" in browser._repr_mimebundle_()["text/html"]
