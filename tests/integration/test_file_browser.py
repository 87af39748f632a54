"""The raw-file browser and the simulation panel on a real moto server, the files processed by the real
handler through the local runtime."""

from __future__ import annotations

import time
from datetime import date
from functools import partial

import pytest

from energy_lib import query
from energy_lib.clients import client
from energy_lib.config import Settings
from energy_lib.wording import count
from energy_lib.workbook import simulator
from energy_lib.workbook.aws import ops
from energy_lib.workbook.local.runtime import LocalRuntime, load_handler
from energy_lib.workbook.notebook import frames, raw_files, simulation_panel
from energy_lib.workbook.notebook.palette import ANOMALY_ROW_STYLE, REJECTED_ROW_STYLE
from energy_lib.workbook.simulator import runs
from energy_lib.workbook.sites import registry
from tests.conftest import SAMPLES, documented_outcomes
from tests.integration.harness import Pipeline

DAY = "raw/2025/06/11/"


@pytest.fixture
def processed(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The sample files and an unreadable file uploaded and processed by lambda/handler.py."""
    for name, value in settings.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ENERGY_ENDPOINT_URL", settings.endpoint)
    s3 = client("s3", settings)
    for name in documented_outcomes():
        s3.put_object(Bucket=settings.bucket, Key=DAY + name, Body=(SAMPLES / name).read_bytes())
    s3.put_object(Bucket=settings.bucket, Key="raw/2025/06/12/broken.json", Body=b"[{not json")
    runtime = LocalRuntime(settings, handler=load_handler(), retry_delay_s=0)
    for _ in range(30):
        if not runtime.poll_once(wait_s=0) and ops.queue_depth(settings, settings.ingest_queue) == 0:
            break
    return settings


def browser(settings: Settings, page_size: int) -> raw_files.FileBrowser:
    return raw_files.browser(
        partial(frames.raw_files, settings, page_size=page_size),
        partial(frames.raw_file, settings),
        settings.raw_prefix,
        partial(frames.day_prefix, settings),
    )


def test_the_file_browser_pages_through_raw_objects_with_their_ledger_entries(processed: Settings) -> None:
    # GIVEN 6 raw objects, listed 4 to a page
    files = browser(processed, page_size=4)
    # THEN the first page has 4, each with its ledger entry, and the next page the other 2
    assert len(files.page) == 4 and not files.next.disabled and files.previous.disabled
    assert "Page 1: 4 objects (more on the next pages)" in files.page_label.value
    first_page = list(files.page["key"])
    files.next.click()
    assert files.page_number == 2 and files.next.disabled and not files.previous.disabled
    everything = first_page + list(files.page["key"])
    assert sorted(everything) == sorted([DAY + name for name in documented_outcomes()] + ["raw/2025/06/12/broken.json"])
    files.previous.click()
    assert list(files.page["key"]) == first_page
    # every object has its ledger entry: read = stored + quarantined, as the samples' README says
    files.day.value = date(2025, 6, 11)
    assert files.prefix.value == DAY and len(files.page) == 4
    day_page = list(files.page["key"])
    files.next.click()
    assert {*day_page, *files.page["key"]} == {DAY + name for name in documented_outcomes()}
    # a day without objects says so
    files.day.value = date(2030, 1, 1)
    assert files.page.empty and files.file.options == () and files.shown is None
    assert "No raw objects under raw/2030/01/01/" in files._repr_mimebundle_()["text/html"]


def test_the_file_viewer_shows_content_rejects_with_reasons_and_status(processed: Settings) -> None:
    files = browser(processed, page_size=50)
    outcomes = documented_outcomes()
    ledger = files.page.set_index("key")
    for name, counts in outcomes.items():
        fields = ledger.loc[DAY + name, ["status", "read", "stored", "quarantined", "anomalies"]]
        assert list(fields) == ["processed", *counts], name
    # WHEN the JSON Lines sample (one record not a number) is picked
    files.file.value = DAY + "lines.jsonl"
    shown = files.shown
    # THEN its content is every record, the rejected one marked with its reason, and its status
    assert shown.records == len(shown.content) == 2
    [reject] = shown.rejects.to_dict("records")
    assert reject["reasons"] and "number" in reject["reasons"]
    marked = shown.content.set_index("position")["rejected"]
    assert marked[reject["position"]] == reject["reasons"] and (marked != "").sum() == 1
    assert "processed" in files.status.value and "2 records read, 1 stored, 1 quarantined" in files.status.value
    static = files._repr_mimebundle_()["text/html"]
    assert "Rejected records and their reasons" in static and "Content: 2 records" in static
    # numbers are shown as the file wrote them
    files.file.value = DAY + "array_utc_z.json"
    raw_values = (SAMPLES / "array_utc_z.json").read_text()
    assert all(value in raw_values for value in files.shown.content["energy_generated_kwh"])
    assert "stored as (rounded)" not in files._repr_mimebundle_()["text/html"]  # nothing rounded: no such column
    # an unreadable file says why, and its status
    files.prefix.value = "raw/2025/06/12/"
    assert files.shown.key == "raw/2025/06/12/broken.json"
    assert files.shown.unparseable and "rejected" in files.status.value
    assert "could not be read at all" in files._repr_mimebundle_()["text/html"]


def test_the_file_viewer_shows_the_text_and_the_stored_value_of_rounded_readings_side_by_side(
    processed: Settings,
) -> None:
    files = browser(processed, page_size=50)
    # GIVEN the producer's batch with unrounded floats, processed: its listing row counts the rounded readings
    assert files.page.set_index("key").loc[DAY + "producer_floats.json", "rounded"] == 4
    # WHEN it is picked
    files.file.value = DAY + "producer_floats.json"
    content = files.shown.content.set_index("position")
    # THEN each rounded value stands beside the text the file wrote; the others are stored as written
    generated = content[["energy_generated_kwh", "stored_generated_kwh"]]
    consumed = content[["energy_consumed_kwh", "stored_consumed_kwh"]]
    assert generated[generated["stored_generated_kwh"] != ""].values.tolist() == [
        ["-4.572918374629183", "-4.572918375"],
        ["0.30000000000000004", "0.300000000"],
    ]
    assert consumed[consumed["stored_consumed_kwh"] != ""].values.tolist() == [
        ["15.399999999999999", "15.400000000"],
        ["-3.32779089063629", "-3.327790891"],
    ]
    # AND the status says how many readings were rounded, the table heads the columns and says how
    assert "25 records read, 25 stored, 0 quarantined, 2 anomalies, 4 readings rounded to 9 decimals" in (
        files.status.value
    )
    static = files._repr_mimebundle_()["text/html"]
    assert static.count("stored as (rounded)") == 2 and "stored rounded (half to even)" in static
    assert "-4.572918374629183" in static and "-4.572918375" in static


def test_the_newest_upload_is_listed_first_and_paging_holds_while_files_arrive(processed: Settings) -> None:
    # GIVEN the processed objects, and one uploaded later under an older day (a correction: its key sorts first)
    files = browser(processed, page_size=4)
    first_page = list(files.page["key"])
    time.sleep(1.1)  # S3 keeps upload times to the second
    fresh = "raw/2025/06/01/correction.json"
    client("s3", processed).put_object(
        Bucket=processed.bucket, Key=fresh, Body=(SAMPLES / "single_object.json").read_bytes()
    )
    # WHEN the listing is loaded again
    files.first_page()
    # THEN the fresh upload leads page 1 (it was nowhere near page 1 in key order), newest first throughout
    keys, uploaded = list(files.page["key"]), list(files.page["last_modified"])
    assert keys[0] == fresh and keys[1:] == first_page[:3]
    assert uploaded == sorted(uploaded, reverse=True)
    # WHEN a file arrives while page 2 is read, THEN page 2 goes on from where page 1 ended: nothing twice or lost
    files.next.click()
    second = list(files.page["key"])
    time.sleep(1.1)
    client("s3", processed).put_object(Bucket=processed.bucket, Key="raw/2025/06/02/later.json", Body=b"[]")
    while not files.next.disabled:
        files.next.click()
        second += list(files.page["key"])
    listed = keys + second
    uploaded_before = len(documented_outcomes()) + 2  # the samples, broken.json and the correction
    assert len(listed) == len(set(listed)) == uploaded_before and "raw/2025/06/02/later.json" not in listed
    files.first_page()
    assert files.page["key"].iloc[0] == "raw/2025/06/02/later.json"


def test_the_file_viewer_marks_flagged_readings_and_rejected_records(processed: Settings) -> None:
    files = browser(processed, page_size=50)
    ledger = files.page.set_index("key")
    for name in documented_outcomes():
        # WHEN each sample is shown
        files.file.value = DAY + name
        content = files.shown.content
        # THEN its flagged readings are those the pipeline stored as anomalies (the ledger counts them), with
        # severity and reasons, and no rejected record is flagged
        flagged = content[content["flagged"] != ""]
        assert len(flagged) == ledger.loc[DAY + name, "anomalies"], name
        assert (flagged["rejected"] == "").all()
        html = files._parts()[1].to_html()  # the content table, styled
        if len(flagged):
            assert (
                ANOMALY_ROW_STYLE.split(";")[0] in html and f"{count(len(flagged), 'flagged reading')} in red" in html
            )
        if (content["rejected"] != "").any():
            assert REJECTED_ROW_STYLE.split(";")[0] in html and "1 rejected record struck" in html
    files.file.value = DAY + "array_utc_z.json"
    [row] = files.shown.content[files.shown.content["flagged"] != ""].to_dict("records")
    assert row["site_id"] == "SITE_002" and row["flagged"] == "LOW negative_generation"
    files.file.value = DAY + "offsets_and_records.json"
    [row] = files.shown.content[files.shown.content["flagged"] != ""].to_dict("records")
    assert row["site_id"] == "site_beta" and row["flagged"] == "LOW negative_consumption"


def test_an_object_uploaded_again_is_listed_once_with_its_current_version_and_that_version_s_ledger_entry(
    processed: Settings,
) -> None:
    # GIVEN two versions of one object, the second with two readings, both processed (the bucket is versioned)
    s3 = client("s3", processed)
    key = "raw/2025/06/13/again.json"
    reading = (
        '{"site_id": "S9", "timestamp": "2025-06-13T10:%02d:00Z", "energy_generated_kwh": 1, "energy_consumed_kwh": 1}'
    )
    for body in (f"[{reading % 0}]", f"[{reading % 0}, {reading % 5}]"):
        s3.put_object(Bucket=processed.bucket, Key=key, Body=body.encode())
        runtime = LocalRuntime(processed, handler=load_handler(), retry_delay_s=0)
        for _ in range(30):
            if not runtime.poll_once(wait_s=0) and ops.queue_depth(processed, processed.ingest_queue) == 0:
                break
    # WHEN the browser lists that day, one version to a request
    files = browser(processed, page_size=1)
    files.prefix.value = "raw/2025/06/13/"
    # THEN the object is listed once, with the current version's ledger entry and content; no empty page follows
    assert list(files.page["key"]) == [key] and files.next.disabled
    assert files.page.loc[0, ["status", "read", "stored"]].tolist() == ["processed", 2, 2]
    assert files.shown.records == 2


def panel_on(settings: Settings) -> simulation_panel.SimulationPanel:
    return simulation_panel.panel(
        partial(runs.plan, settings),
        partial(runs.run_once, settings),
        partial(runs.run_batches, settings),
        "2025-06-11T00:00:00Z",
    )


def test_the_simulation_panel_runs_once_with_progress_and_stops_continuous_batches(settings: Settings) -> None:
    panel = panel_on(settings)
    # WHEN 3 sites over 2 hours are run once
    panel.sites.value, panel.hours.value = 3, 2
    panel.run_button.click()
    assert panel.wait(120)
    # THEN their files are under raw/, and the progress bar and the status say so
    keys = list(frames.files(settings)["key"])
    same = simulator.simulate(simulator.default_fleet(3), query.utc("2025-06-11T00:00:00Z"), 2, 5, 0.02, 42)
    expected = {
        "sites": 3,
        "start": "2025-06-11T00:00:00Z",
        "end": "2025-06-11T02:00:00Z",
        "appended": False,
        "replaced_readings": 0,
        "registered": 3,  # the fleet is put in the site registry, as `simulate` does
        "files": 3,
        "readings": 3 * 24,
        "injected_anomalies": same.injected_anomalies,
        "injected_faults": 0,
    }
    assert len(keys) == 3 and panel.result == expected
    assert (panel.progress.value, panel.progress.max) == (3, 3)
    assert "Uploaded 3 files under raw/: 72 readings of 3 sites from 2025-06-11 00:00 UTC" in panel.status.value
    assert "Nothing stored for these sites is replaced" in panel.status.value
    # WHEN continuous batches start with no limit, and Stop is clicked after the first batch
    panel.every_minutes.value, panel.max_batches.value = 10, 0
    panel.start_button.click()
    assert panel.stop_button.disabled is False and panel.run_button.disabled is True
    deadline = time.monotonic() + 120
    while "Batch 1 uploaded" not in panel.status.value and time.monotonic() < deadline:
        time.sleep(0.1)
    panel.stop_button.click()
    # THEN the run ends (it would wait 10 minutes for the next batch otherwise), after that one batch
    assert panel.wait(60)
    assert panel.result.batches == 1 and "Continuous run stopped: 1 batch" in panel.status.value
    assert panel.run_button.disabled is False and panel.stop_button.disabled is True
    # a bad start is refused before anything runs
    panel.start.value = "yesterday"
    panel.run_button.click()
    assert panel.thread is not None and panel.wait(1) and "Not started" in panel.status.value


def test_the_simulation_panel_replaces_stored_readings_only_after_the_confirm_button(settings: Settings) -> None:
    # GIVEN 2 sites over 2 hours of half-hourly readings, stored and registered
    panel = panel_on(settings)
    panel.sites.value, panel.hours.value, panel.interval.value = 2, 2, 30
    panel.run_button.click()
    assert panel.wait(120)
    Pipeline(settings).drain()
    dynamodb = client("dynamodb", settings)
    before = {s: query.readings(settings, dynamodb, s) for s in ("SITE_001", "SITE_002")}
    assert [len(rows) for rows in before.values()] == [4, 4]
    # WHEN the same 2 hours at 5 minutes are run with "replace them" picked
    panel.interval.value, panel.on_stored.value = 5, "replace"
    panel.run_button.click()
    assert panel.wait(120)
    # THEN nothing is written yet: the panel says what would be replaced and shows the confirm button
    assert panel.pending is not None and panel.confirm_row.layout.display == "flex"
    assert panel.confirm_button.description == "Replace 8 stored readings"
    assert "This run replaces 8 stored readings of 2 sites" in panel.status.value
    assert "It registers 2 sites anew (interval_minutes changed)" in panel.status.value
    assert "Nothing is written until you confirm" in panel.status.value
    assert len(frames.files(settings)) == 2
    # WHEN Cancel is pressed, THEN nothing is written and the button goes
    panel.cancel_button.click()
    assert panel.pending is None and panel.confirm_row.layout.display == "none"
    assert "Cancelled: nothing was written" in panel.status.value and len(frames.files(settings)) == 2
    # WHEN it is asked again and confirmed, THEN the readings and the registry are replaced
    panel.run_button.click()
    assert panel.wait(120) and panel.pending is not None
    panel.confirm_button.click()
    assert panel.wait(120)
    Pipeline(settings).drain()
    assert panel.result["replaced_readings"] == 8 and not panel.result["appended"]
    assert [len(query.readings(settings, dynamodb, s)) for s in before] == [24, 24]
    assert {site.interval_minutes for site in registry.list_sites(settings, dynamodb)} == {5}
