"""How provisioning checks are shown: the table (PASS/FAIL, full text) and the short failure message."""

from __future__ import annotations

import re

import pytest

from energy_lib.workbook.aws import checks
from energy_lib.workbook.aws.checks import Check
from energy_lib.workbook.notebook import views

LONG_ERROR = "error: An error occurred (NoSuchBucket) when calling the HeadBucket operation: " + "x" * 300


def results() -> list[Check]:
    return [
        Check("s3:data", "exists", "True", "True"),
        Check("s3:data", "versioning", "Enabled", "Suspended"),
        Check("sqs:ingest", "retention [s]", "345600", "345600"),
        Check("s3:logs", "exists", "True", LONG_ERROR),
    ]


def test_the_table_puts_failures_first_in_words_with_the_full_text():
    styler = views.check_table(results())

    frame = styler.data
    assert list(frame.columns) == ["Result", "Resource", "Setting", "Expected", "Actual"]
    assert frame["Result"].tolist() == ["FAIL", "FAIL", "PASS", "PASS"]
    assert frame["Setting"].tolist()[:2] == ["versioning", "exists"]  # failures keep their order
    html = styler.to_html()
    assert LONG_ERROR in html  # no 50-character cut
    assert "2 passed, 2 failed" in html  # the verdict is the caption
    assert 'class="row_heading' not in html


def test_fail_is_white_on_red_and_pass_is_green():
    html = views.check_table(results()).to_html()

    style_of_row = {}
    for selectors, properties in re.findall(r"([^{}]+)\{([^}]*)\}", html.split("</style>")[0]):
        for row in re.findall(r"_row(\d+)_col0\b", selectors):
            style_of_row[int(row)] = properties
    assert "background-color: #d62728" in style_of_row[0] and "color: white" in style_of_row[0]
    assert "color: #1b5e20" in style_of_row[3]


def test_assert_passed_names_the_count_and_the_first_failure_in_one_short_line():
    with pytest.raises(checks.ChecksFailed) as raised:
        checks.assert_passed(results())

    message = str(raised.value)
    assert message == "2 of 4 checks failed; first: s3:data versioning: Suspended (expected Enabled)"


def test_a_long_actual_value_is_shortened_in_the_message_only():
    failing = [Check("s3:logs", "exists", "True", LONG_ERROR)]

    with pytest.raises(checks.ChecksFailed) as raised:
        checks.assert_passed(failing)

    message = str(raised.value)
    assert message.startswith("1 of 1 checks failed; first: s3:logs exists: error: An error occurred (NoSuchBucket)")
    assert "…" in message and len(message) < 300
    assert LONG_ERROR in views.check_table(failing).to_html()


def test_all_passed_raises_nothing():
    passing = [check for check in results() if check.passed]
    checks.assert_passed(passing)
    assert checks.verdict(passing) == "2 passed, 0 failed"
