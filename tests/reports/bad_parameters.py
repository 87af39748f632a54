"""A bad value for every kind of check a parameter's declaration makes, in the workbook's own notebooks, with the
one-line message every way of asking for a run answers with (the command line, the schedule, a dashboard page).

Shared by the unit tests of the command line and the schedule and by the dashboard's browser tests; ``PAGE``
marks the cases whose notebook is a dashboard page (the others are not served)."""

from __future__ import annotations

from typing import NamedTuple


class Bad(NamedTuple):
    kind: str  # what the declaration checks
    notebook: str
    name: str
    value: str  # as text, as on the command line or in a query string
    message: str  # the whole one-line message
    page: bool  # the notebook is a dashboard page


BAD = (
    Bad("unknown name", "04-report-business", "colour", "blue",
        "04-report-business has no parameter ['colour']; it declares ['end_utc', 'heatmap_tz', 'start_utc', 'target']",
        True),
    Bad("type int", "08-browse-raw-files", "page_size", "ten",
        "parameter page_size: 'ten' is not of type int (default 25)", True),
    Bad("type bool", "05-operate-pipeline", "redrive", "maybe",
        "parameter redrive: 'maybe' is not of type bool (default False)", True),
    Bad("type float", "02-run-simulation", "hours", "a day",
        "parameter hours: 'a day' is not of type float (default 192)", False),
    Bad("ISO-8601 time", "04-report-business", "start_utc", "yesterday",
        "parameter start_utc: not a timestamp: 'yesterday' (use ISO-8601, e.g. 2025-06-11T00:00:00Z)", True),
    Bad("ISO-8601 time", "04-report-business", "start_utc", "garbage",
        "parameter start_utc: not a timestamp: 'garbage' (use ISO-8601, e.g. 2025-06-11T00:00:00Z)", True),
    Bad("start before end", "04-report-business", "end_utc", "2025-06-10T00:00:00Z",
        "parameter start_utc 2025-06-11T00:00:00Z is not before end_utc 2025-06-10T00:00:00Z", True),
    Bad("whole hour", "04-report-business", "start_utc", "2025-06-11T00:30:00Z",
        "parameter start_utc: '2025-06-11T00:30:00Z' is not a whole hour (UTC), such as 2025-06-11T13:00:00Z", True),
    Bad("UTC midnight", "06-assess-site-health", "end_utc", "2025-06-11T06:00:00Z",
        "parameter end_utc: '2025-06-11T06:00:00Z' is not a UTC midnight, such as 2025-06-11T00:00:00Z", False),
    Bad("one of", "04-report-business", "target", "gcp",
        "parameter target: 'gcp' is not one of \"local\" or \"aws\"", True),
    Bad("any of", "06-assess-site-health", "checks", "freshness,speed",
        "parameter checks: 'freshness,speed' is not a comma-separated selection of \"freshness\", \"quality\" or "
        "\"performance\"", False),
    Bad("bound", "08-browse-raw-files", "page_size", "0", "parameter page_size: '0' is not at least 1", True),
    Bad("bound", "02-run-simulation", "anomaly_rate", "1.5", "parameter anomaly_rate: '1.5' is not at most 1", False),
    Bad("time zone", "04-report-business", "heatmap_tz", "Mars/Olympus",
        "parameter heatmap_tz: 'Mars/Olympus' is not an IANA time zone name, such as UTC or Europe/Berlin", True),
)  # fmt: skip
