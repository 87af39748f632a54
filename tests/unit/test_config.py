"""energy_lib.config: defaults, ENERGY_* variables, Terraform outputs, validation, round trips."""

from __future__ import annotations

import json
from dataclasses import fields
from decimal import Decimal
from pathlib import Path

import pytest

from energy_lib.config import (
    LOCAL_ACCESS_KEY,
    LOCAL_ACCOUNT_ID,
    TARGETS,
    TERRAFORM_OUTPUTS,
    Settings,
    absolute_path_variables,
    env_names,
    terraform_outputs,
)
from energy_lib.errors import ConfigError, EnergyError

PUBLIC_KEYS = {
    "readings_ttl_days",
    "target",
    "region",
    "endpoint_url",
    "aws_access_key_id",
    "aws_secret_access_key",
    "bucket",
    "raw_prefix",
    "quarantine_prefix",
    "readings_table",
    "rollups_table",
    "ledger_table",
    "sites_table",
    "ingest_queue",
    "dead_letter_queue",
    "rollups_dead_letter_queue",
    "alerts_topic",
    "alerts_topic_arn",
    "alerts_queue",
    "function_name",
    "log_group",
    "aggregator_function_name",
    "aggregator_log_group",
    "lake_prefix",
    "reports_prefix",
    "glue_database",
    "athena_workgroup",
    "compaction_function",
}


# --- defaults -----------------------------------------------------------------------------------------


def test_defaults_run_on_the_local_target():
    settings = Settings.from_env({})

    assert settings == Settings()
    assert settings.target == "local"
    assert settings.region == "eu-west-1"
    assert settings.local_port == 4599
    assert settings.endpoint == "http://127.0.0.1:4599"
    assert (settings.raw_prefix, settings.quarantine_prefix) == ("raw/", "quarantine/")
    assert (settings.severity_medium_kwh, settings.severity_high_kwh, settings.implausible_kwh) == (
        Decimal("10"),
        Decimal("50"),
        Decimal("1000"),
    )
    assert settings.max_attempts == 8
    assert (settings.max_decompressed_bytes, settings.max_record_bytes, settings.max_depth) == (
        512 * 2**20,
        2**20,
        16,
    )
    assert settings.topic_arn == f"arn:aws:sns:eu-west-1:{LOCAL_ACCOUNT_ID}:energy-workbook-anomalies"
    assert settings.log_group == "/aws/lambda/energy-workbook-ingest"


def test_from_env_with_a_mapping_does_not_read_the_process_environment(monkeypatch):
    monkeypatch.setenv("ENERGY_BUCKET", "from-process")

    assert Settings.from_env({}).bucket == "energy-workbook-data-local"
    assert Settings.from_env().bucket == "from-process"
    assert Settings.from_env(None).bucket == "from-process"


def test_unrelated_variables_are_ignored():
    assert Settings.from_env({"BUCKET": "x", "energy_bucket": "y", "ENERGY_UNKNOWN": "z"}) == Settings()


# --- overrides from the environment ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "raw", "field", "value"),
    [
        ("ENERGY_TARGET", "aws", "target", "aws"),
        ("ENERGY_REGION", "us-east-1", "region", "us-east-1"),
        ("ENERGY_ENDPOINT_URL", "http://localhost:9000", "endpoint_url", "http://localhost:9000"),
        ("ENERGY_LOCAL_PORT", "5001", "local_port", 5001),
        ("ENERGY_LOCAL_WINDOWS", "clock", "local_windows", "clock"),
        ("ENERGY_LOCAL_PORT", " 5001 ", "local_port", 5001),
        ("ENERGY_BUCKET", "my-bucket", "bucket", "my-bucket"),
        ("ENERGY_RAW_PREFIX", "incoming/", "raw_prefix", "incoming/"),
        ("ENERGY_QUARANTINE_PREFIX", "bad/", "quarantine_prefix", "bad/"),
        ("ENERGY_READINGS_TABLE", "r", "readings_table", "r"),
        ("ENERGY_ROLLUPS_TABLE", "ro", "rollups_table", "ro"),
        ("ENERGY_LEDGER_TABLE", "l", "ledger_table", "l"),
        ("ENERGY_INGEST_QUEUE", "q", "ingest_queue", "q"),
        ("ENERGY_DEAD_LETTER_QUEUE", "dlq", "dead_letter_queue", "dlq"),
        ("ENERGY_ALERTS_TOPIC", "t", "alerts_topic", "t"),
        ("ENERGY_ALERTS_TOPIC_ARN", "arn:aws:sns:x:1:t", "alerts_topic_arn", "arn:aws:sns:x:1:t"),
        ("ENERGY_ALERTS_QUEUE", "aq", "alerts_queue", "aq"),
        ("ENERGY_FUNCTION_NAME", "fn", "function_name", "fn"),
        ("ENERGY_AGGREGATOR_FUNCTION_NAME", "agg", "aggregator_function_name", "agg"),
        ("ENERGY_ROLLUPS_DEAD_LETTER_QUEUE", "rdlq", "rollups_dead_letter_queue", "rdlq"),
        ("ENERGY_IMPLAUSIBLE_KWH", "2500.5", "implausible_kwh", Decimal("2500.5")),
        ("ENERGY_SEVERITY_MEDIUM_KWH", "0.1", "severity_medium_kwh", Decimal("0.1")),
        ("ENERGY_SEVERITY_HIGH_KWH", "12.75", "severity_high_kwh", Decimal("12.75")),
        ("ENERGY_MAX_ATTEMPTS", "3", "max_attempts", 3),
        ("ENERGY_MAX_DECOMPRESSED_BYTES", "1073741824", "max_decompressed_bytes", 2**30),
        ("ENERGY_MAX_RECORD_BYTES", "4096", "max_record_bytes", 4096),
        ("ENERGY_MAX_DEPTH", "8", "max_depth", 8),
        ("ENERGY_STATE_DIR", "/tmp/state", "state_dir", "/tmp/state"),
        ("ENERGY_REPORTS_DIR", "out", "reports_dir", "out"),
        ("ENERGY_REPORTS_PREFIX", "runs/", "reports_prefix", "runs/"),
        ("ENERGY_REPORT_TIMEOUT_S", "90.5", "report_timeout_s", 90.5),
        ("ENERGY_REPORT_RETRIES", "0", "report_retries", 0),
    ],
)
def test_each_variable_sets_its_field_with_its_type(variable, raw, field, value):
    settings = Settings.from_env({variable: raw})

    assert getattr(settings, field) == value
    assert type(getattr(settings, field)) is type(value)
    # and nothing else changed
    others = {f.name for f in fields(Settings)} - {field}
    assert all(getattr(settings, name) == getattr(Settings(), name) for name in others)


def test_decimal_thresholds_are_read_exactly_not_via_float():
    settings = Settings.from_env({"ENERGY_SEVERITY_MEDIUM_KWH": "0.1", "ENERGY_SEVERITY_HIGH_KWH": "0.30"})

    assert str(settings.severity_medium_kwh) == "0.1"
    assert str(settings.severity_high_kwh) == "0.30"


def test_empty_variables_count_as_unset():
    assert Settings.from_env({"ENERGY_BUCKET": "", "ENERGY_LOCAL_PORT": "", "ENERGY_TARGET": ""}) == Settings()


def test_overrides_win_over_variables_and_none_overrides_are_ignored():
    environ = {"ENERGY_BUCKET": "from-env", "ENERGY_REGION": "us-east-1"}

    settings = Settings.from_env(environ, bucket="from-override", region=None)

    assert settings.bucket == "from-override"
    assert settings.region == "us-east-1"


def test_endpoint_override_and_aws_target():
    assert Settings(target="aws").endpoint is None
    assert Settings(target="aws", endpoint_url="http://x:1").endpoint == "http://x:1"
    assert Settings(local_port=5001).endpoint == "http://127.0.0.1:5001"
    assert Settings(alerts_topic_arn="arn:aws:sns:us-east-1:999:t").topic_arn == "arn:aws:sns:us-east-1:999:t"
    assert Settings(region="us-east-2", alerts_topic="a").topic_arn == f"arn:aws:sns:us-east-2:{LOCAL_ACCOUNT_ID}:a"


def test_topic_arn_on_aws_must_be_given():
    # GIVEN the aws target without ENERGY_ALERTS_TOPIC_ARN: the account id is unknown, so no ARN can be derived
    settings = Settings(target="aws")

    with pytest.raises(ConfigError, match="ENERGY_ALERTS_TOPIC_ARN"):
        settings.topic_arn  # noqa: B018
    assert settings.public_view()["alerts_topic_arn"] == ""


def test_state_path(tmp_path):
    assert Settings(state_dir=str(tmp_path)).state_path == tmp_path
    assert Settings(state_dir="~/energy").state_path == Path.home() / "energy"
    assert Settings().state_path == Path.home() / ".cache" / "energy-workbook"


# --- bad values ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "raw"),
    [
        ("ENERGY_LOCAL_PORT", "abc"),
        ("ENERGY_LOCAL_PORT", "4599.5"),
        ("ENERGY_MAX_ATTEMPTS", "three"),
        ("ENERGY_MAX_ATTEMPTS", "3.0"),
        ("ENERGY_IMPLAUSIBLE_KWH", "lots"),
        ("ENERGY_SEVERITY_MEDIUM_KWH", "10 kWh"),
        ("ENERGY_SEVERITY_HIGH_KWH", "1,5"),
    ],
)
def test_values_of_the_wrong_type_raise_config_error_naming_the_variable(variable, raw):
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({variable: raw})

    assert variable in str(caught.value)
    assert repr(raw) in str(caught.value)


@pytest.mark.parametrize(
    "variable", ["ENERGY_SEVERITY_MEDIUM_KWH", "ENERGY_SEVERITY_HIGH_KWH", "ENERGY_IMPLAUSIBLE_KWH"]
)
@pytest.mark.parametrize("raw", ["NaN", "sNaN"])
def test_nan_threshold_raises_config_error(variable, raw):
    # GIVEN a threshold that parses as a Decimal but is not a number: comparing it raises InvalidOperation
    with pytest.raises(ConfigError, match=variable):
        Settings.from_env({variable: raw})


def test_config_error_is_an_energy_error():
    assert issubclass(ConfigError, EnergyError)


@pytest.mark.parametrize("target", ["gcp", "AWS", "Local", " local", "moto"])
def test_bad_target_raises_config_error(target):
    with pytest.raises(ConfigError, match="ENERGY_TARGET") as caught:
        Settings.from_env({"ENERGY_TARGET": target})

    assert repr(target) in str(caught.value)
    assert TARGETS == ("local", "aws")


@pytest.mark.parametrize(
    ("raw_prefix", "quarantine_prefix"),
    [
        ("raw", "quarantine/"),  # no trailing slash
        ("raw/", "quarantine"),
        ("raw/", "raw/"),  # equal
        ("data/", "data/quarantine/"),  # quarantine inside raw: quarantined copies would be ingested again
        ("data/raw/", "data/"),  # raw inside quarantine
    ],
)
def test_prefix_rules(raw_prefix, quarantine_prefix):
    with pytest.raises(ConfigError, match="PREFIX|prefixes"):
        Settings(raw_prefix=raw_prefix, quarantine_prefix=quarantine_prefix)


@pytest.mark.parametrize(
    ("raw_prefix", "quarantine_prefix"),
    [("raw/", "raw-quarantine/"), ("in/raw/", "in/quarantine/"), ("a/", "b/")],
)
def test_prefixes_that_do_not_contain_each_other_are_fine(raw_prefix, quarantine_prefix):
    settings = Settings(raw_prefix=raw_prefix, quarantine_prefix=quarantine_prefix)

    assert (settings.raw_prefix, settings.quarantine_prefix) == (raw_prefix, quarantine_prefix)


def test_prefix_rules_apply_to_variables_too():
    with pytest.raises(ConfigError):
        Settings.from_env({"ENERGY_QUARANTINE_PREFIX": "raw/quarantine/"})


@pytest.mark.parametrize(
    ("medium", "high", "implausible"),
    [
        ("0", "50", "1000"),
        ("-1", "50", "1000"),
        ("60", "50", "1000"),
        ("10", "1001", "1000"),
        ("10", "50", "5"),
    ],
)
def test_thresholds_must_be_in_order(medium, high, implausible):
    with pytest.raises(ConfigError, match="(?i)severity_medium_kwh.*severity_high_kwh.*implausible_kwh"):
        Settings(
            severity_medium_kwh=Decimal(medium), severity_high_kwh=Decimal(high), implausible_kwh=Decimal(implausible)
        )


def test_threshold_order_is_checked_for_variables():
    with pytest.raises(ConfigError):
        Settings.from_env({"ENERGY_SEVERITY_MEDIUM_KWH": "60"})


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({"ENERGY_TARGET": "gcp"}, "ENERGY_TARGET"),
        ({"ENERGY_LOCAL_WINDOWS": "hourly"}, "ENERGY_LOCAL_WINDOWS"),
        ({"ENERGY_RAW_PREFIX": "raw"}, "ENERGY_RAW_PREFIX"),
        ({"ENERGY_QUARANTINE_PREFIX": "quarantine"}, "ENERGY_QUARANTINE_PREFIX"),
        ({"ENERGY_QUARANTINE_PREFIX": "raw/q/"}, "ENERGY_QUARANTINE_PREFIX"),
        ({"ENERGY_SEVERITY_MEDIUM_KWH": "60"}, "ENERGY_SEVERITY_MEDIUM_KWH"),
        ({"ENERGY_SEVERITY_HIGH_KWH": "5"}, "ENERGY_SEVERITY_HIGH_KWH"),
        ({"ENERGY_IMPLAUSIBLE_KWH": "20"}, "ENERGY_IMPLAUSIBLE_KWH"),
    ],
    ids=["target", "windows", "raw-slash", "quarantine-slash", "nested", "medium", "high", "implausible"],
)
def test_every_validation_error_names_the_variable_to_fix(environ, variable):
    # GIVEN a value of the right type that breaks a rule: the user sets variables, so the message names them
    with pytest.raises(ConfigError, match=variable):
        Settings.from_env(environ)


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({"ENERGY_MAX_RECORD_BYTES": "1023"}, "ENERGY_MAX_RECORD_BYTES"),
        ({"ENERGY_MAX_RECORD_BYTES": str(16 * 2**20 + 1)}, "ENERGY_MAX_RECORD_BYTES"),
        ({"ENERGY_MAX_DECOMPRESSED_BYTES": "1000", "ENERGY_MAX_RECORD_BYTES": "1024"}, "ENERGY_MAX_DECOMPRESSED_BYTES"),
        ({"ENERGY_MAX_DECOMPRESSED_BYTES": "0"}, "ENERGY_MAX_DECOMPRESSED_BYTES"),
        ({"ENERGY_MAX_DEPTH": "0"}, "ENERGY_MAX_DEPTH"),
        ({"ENERGY_MAX_DEPTH": "257"}, "ENERGY_MAX_DEPTH"),
        ({"ENERGY_MAX_DEPTH": "deep"}, "ENERGY_MAX_DEPTH"),
    ],
)
def test_limits_out_of_their_range_raise_config_error_naming_the_variable(environ, variable):
    with pytest.raises(ConfigError, match=variable):
        Settings.from_env(environ)


def test_the_limits_at_the_ends_of_their_ranges_are_allowed():
    settings = Settings(max_decompressed_bytes=1024, max_record_bytes=1024, max_depth=1)

    assert (settings.max_decompressed_bytes, settings.max_depth) == (1024, 1)
    assert Settings(max_record_bytes=16 * 2**20, max_depth=256).max_record_bytes == 16 * 2**20


def test_equal_thresholds_are_allowed():
    settings = Settings(severity_medium_kwh=Decimal(5), severity_high_kwh=Decimal(5), implausible_kwh=Decimal(5))

    assert settings.severity_high_kwh == 5


def test_overrides_are_validated_and_none_is_ignored():
    settings = Settings.from_env({}, bucket="b", region=None)  # as the command line passes --target/--port

    assert (settings.bucket, settings.region) == ("b", "eu-west-1")
    with pytest.raises(ConfigError):
        Settings.from_env({}, target="gcp")


# --- Terraform outputs -----------------------------------------------------------------------------------


def write_outputs(path: Path, values: dict[str, object]) -> Path:
    """A file shaped like ``terraform output -json``."""
    path.write_text(json.dumps({k: {"sensitive": False, "type": "string", "value": v} for k, v in values.items()}))
    return path


AWS_OUTPUTS = {
    "region": "us-east-1",
    "bucket": "energy-prod-data",
    "readings_table": "prod-readings",
    "rollups_table": "prod-rollups",
    "ledger_table": "prod-ledger",
    "sites_table": "prod-sites",
    "ingest_queue": "prod-ingest",
    "dead_letter_queue": "prod-ingest-dlq",
    "alerts_topic": "prod-anomalies",
    "alerts_topic_arn": "arn:aws:sns:us-east-1:210987654321:prod-anomalies",
    "max_receive_count": 3,
    "log_retention_days": 14,
    "readings_ttl_days": 90,
    "alerts_queue": "prod-alerts",
    "function_name": "prod-ingest-fn",
    "aggregator_function_name": "prod-rollups-fn",
    "rollups_dead_letter_queue": "prod-rollups-dlq",
    "glue_database": "energy_prod",
    "athena_workgroup": "prod-lake",
    "compaction_function": "prod-compaction-fn",
}


def test_terraform_outputs_file_sets_target_aws_and_every_name(tmp_path):
    path = write_outputs(tmp_path / "outputs.json", {**AWS_OUTPUTS, "unrelated_output": "ignored"})

    settings = Settings.from_env({"ENERGY_TERRAFORM_OUTPUTS": str(path)})

    assert settings.target == "aws"
    assert settings.endpoint is None
    assert {name: getattr(settings, name) for name in AWS_OUTPUTS} == AWS_OUTPUTS
    assert settings.topic_arn == AWS_OUTPUTS["alerts_topic_arn"]
    assert settings.log_group == "/aws/lambda/prod-ingest-fn"
    assert settings.aggregator_log_group == "/aws/lambda/prod-rollups-fn"


def test_terraform_outputs_cover_exactly_the_documented_outputs(tmp_path):
    assert set(TERRAFORM_OUTPUTS) == set(AWS_OUTPUTS)
    assert set(TERRAFORM_OUTPUTS.values()) <= {f.name for f in fields(Settings)}

    values = terraform_outputs(write_outputs(tmp_path / "o.json", AWS_OUTPUTS))

    assert values == {"target": "aws", **AWS_OUTPUTS}


def test_terraform_outputs_subset_keeps_defaults_for_the_rest(tmp_path):
    path = write_outputs(tmp_path / "o.json", {"bucket": "only-bucket"})

    settings = Settings.from_env({"ENERGY_TERRAFORM_OUTPUTS": str(path)})

    assert (settings.target, settings.bucket, settings.readings_table) == (
        "aws",
        "only-bucket",
        "energy-workbook-readings",
    )


def test_variables_win_over_terraform_outputs(tmp_path):
    path = write_outputs(tmp_path / "o.json", AWS_OUTPUTS)

    settings = Settings.from_env(
        {"ENERGY_TERRAFORM_OUTPUTS": str(path), "ENERGY_BUCKET": "env-bucket", "ENERGY_TARGET": "local"}
    )

    assert (settings.bucket, settings.target, settings.region) == ("env-bucket", "local", "us-east-1")


def test_missing_terraform_outputs_file_raises_config_error(tmp_path):
    missing = tmp_path / "nope.json"

    with pytest.raises(ConfigError, match="Terraform outputs") as caught:
        Settings.from_env({"ENERGY_TERRAFORM_OUTPUTS": str(missing)})

    assert str(missing) in str(caught.value)


def test_terraform_outputs_file_that_is_not_json_raises_config_error(tmp_path):
    path = tmp_path / "o.json"
    path.write_text("bucket = energy-prod-data\n")

    with pytest.raises(ConfigError, match="Terraform outputs"):
        terraform_outputs(path)


@pytest.mark.parametrize(
    "content",
    [
        {"bucket": "energy-prod-data"},  # hand-written, without the {"value": ...} wrapper
        {"bucket": {"type": "string"}},  # no value
    ],
    ids=["value-not-wrapped", "no-value"],
)
def test_terraform_outputs_file_of_the_wrong_shape_raises_config_error(tmp_path, content):
    path = tmp_path / "o.json"
    path.write_text(json.dumps(content))

    with pytest.raises(ConfigError, match="bucket"):
        terraform_outputs(path)


# --- env_names, environment(), public_view() ------------------------------------------------------


def test_env_names_cover_every_field_with_unique_energy_variables():
    names = env_names()

    assert set(names) == {f.name for f in fields(Settings)}
    assert len(set(names.values())) == len(names)
    assert all(v.startswith("ENERGY_") and v == v.upper() for v in names.values())
    assert names["target"] == "ENERGY_TARGET"
    assert names["implausible_kwh"] == "ENERGY_IMPLAUSIBLE_KWH"
    assert "ENERGY_TERRAFORM_OUTPUTS" not in names.values()


@pytest.mark.parametrize(
    "settings",
    [
        Settings(),
        Settings(
            target="aws",
            region="ap-southeast-2",
            endpoint_url="http://127.0.0.1:9999",
            local_port=5123,
            bucket="b",
            raw_prefix="in/",
            quarantine_prefix="out/",
            implausible_kwh=Decimal("1234.5"),
            severity_medium_kwh=Decimal("0.25"),
            severity_high_kwh=Decimal("99.900"),
            max_attempts=2,
            max_decompressed_bytes=2**21,
            max_record_bytes=2048,
            max_depth=3,
            state_dir="/tmp/s",
            reports_dir="r",
            alerts_topic_arn="arn:aws:sns:ap-southeast-2:1:t",
        ),
    ],
    ids=["defaults", "everything-set"],
)
def test_environment_round_trips_through_from_env(settings):
    environment = settings.environment()

    assert Settings.from_env(environment) == settings
    assert all(isinstance(v, str) for v in environment.values())
    assert set(environment) <= set(env_names().values())


def test_environment_leaves_out_empty_values_and_names_the_rest():
    environment = Settings().environment()

    assert "ENERGY_ENDPOINT_URL" not in environment
    assert "ENERGY_ALERTS_TOPIC_ARN" not in environment
    assert "ENERGY_STATE_DIR" not in environment
    assert environment["ENERGY_TARGET"] == "local"
    assert environment["ENERGY_LOCAL_PORT"] == "4599"
    assert environment["ENERGY_IMPLAUSIBLE_KWH"] == "1000"


def test_public_view_has_the_resolved_names():
    view = Settings().public_view()

    assert set(view) == PUBLIC_KEYS
    assert view["endpoint_url"] == "http://127.0.0.1:4599"
    # what a boto3 client of one's own needs for the local endpoint: keys that moto takes and botocore can sign with
    assert view["aws_access_key_id"] == view["aws_secret_access_key"] == LOCAL_ACCESS_KEY != ""
    assert view["alerts_topic_arn"] == f"arn:aws:sns:eu-west-1:{LOCAL_ACCOUNT_ID}:energy-workbook-anomalies"
    assert view["log_group"] == "/aws/lambda/energy-workbook-ingest"
    json.dumps(view)  # serializable for ``energy-workbook config --json``


def test_public_view_on_aws():
    view = Settings(target="aws", alerts_topic_arn="arn:aws:sns:eu-west-1:1:t").public_view()

    assert view["target"] == "aws"
    assert view["endpoint_url"] is None
    assert view["alerts_topic_arn"] == "arn:aws:sns:eu-west-1:1:t"
    # no keys on AWS: boto3 finds the credentials itself (environment, profile, SSO, role)
    assert view["aws_access_key_id"] is None and view["aws_secret_access_key"] is None


def test_relative_path_variables_are_made_absolute_for_a_child_that_runs_elsewhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    environ = {
        "ENERGY_TERRAFORM_OUTPUTS": "terraform-outputs.json",
        "ENERGY_STATE_DIR": "/already/absolute",
        "ENERGY_REPORTS_DIR": "out/reports",
        "ENERGY_BUCKET": "not-a-path",
    }

    assert absolute_path_variables(environ) == {
        "ENERGY_TERRAFORM_OUTPUTS": str(tmp_path / "terraform-outputs.json"),
        "ENERGY_REPORTS_DIR": str(tmp_path / "out" / "reports"),
    }


@pytest.mark.parametrize("lake_prefix", ["lake", "raw/lake/", "raw/", "quarantine/x/", ""])
def test_lake_prefix_must_stay_apart_from_the_raw_and_quarantine_prefixes(lake_prefix):
    # lake objects under raw/ would reach the ingest queue and be ingested as readings
    with pytest.raises(ConfigError, match="ENERGY_LAKE_PREFIX"):
        Settings(lake_prefix=lake_prefix)


@pytest.mark.parametrize("days", [-1, 3651])
def test_a_hot_window_outside_0_to_3650_days_is_refused(days):
    with pytest.raises(ConfigError, match="ENERGY_READINGS_TTL_DAYS"):
        Settings.from_env({"ENERGY_READINGS_TTL_DAYS": str(days)})


def test_the_hot_window_is_35_days_unless_set_and_0_keeps_readings_forever():
    assert Settings().readings_ttl_days == 35
    assert Settings.from_env({"ENERGY_READINGS_TTL_DAYS": "0"}).readings_ttl_days == 0


@pytest.mark.parametrize("reports_prefix", ["reports", "raw/reports/", "raw/", "lake/reports/", "quarantine/r/", ""])
def test_reports_prefix_must_stay_apart_from_the_other_prefixes(reports_prefix):
    # the history and kept reports under raw/ would be ingested as readings; under lake/, compacted
    with pytest.raises(ConfigError, match="ENERGY_REPORTS_PREFIX"):
        Settings(reports_prefix=reports_prefix)


@pytest.mark.parametrize(("timeout_s", "retries"), [(0, 2), (-1, 2), (float("inf"), 2), (60, -1), (60, 11)])
def test_a_report_needs_a_time_limit_above_zero_and_a_bounded_number_of_retries(timeout_s, retries):
    with pytest.raises(ConfigError, match="ENERGY_REPORT_TIMEOUT_S"):
        Settings(report_timeout_s=timeout_s, report_retries=retries)
