"""One configuration object for the whole project, read from ``ENERGY_*`` environment variables.

Nothing else in the project reads the environment. Defaults run on the local target (the embedded
moto server on 127.0.0.1); on AWS the Lambda gets the same variables from Terraform, and the workbook
can read the names from a saved ``terraform output -json`` file (``ENERGY_TERRAFORM_OUTPUTS``).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal
from pathlib import Path

from energy_lib.errors import ConfigError

LOCAL_ACCOUNT_ID = "123456789012"  # moto's fixed account id
# moto accepts any key id and secret; botocore signs every request and sends none without a key: placeholders
LOCAL_ACCESS_KEY = "local"
TARGETS = ("local", "aws")
LOCAL_WINDOWS = ("idle", "clock")  # the local stack's ways of ending a tumbling window (Settings.local_windows)
MIN_RECORD_BYTES = 1024
MAX_RECORD_BYTES = 16 * 2**20  # a record is held whole a few times over (bytes, text, value)
MAX_DEPTH = 256  # json's decoder recurses once per level; far below Python's recursion limit
# a longer hot window than ten years is no hot window; the pipeline's years span two centuries
MAX_TTL_DAYS = 3650


def _env(name: str, kind: type = str) -> dict:
    return {"env": name, "kind": kind}


@dataclass(frozen=True, slots=True)
class Settings:
    """Every resource name, the region, the endpoint and the target.

    Build it with :meth:`from_env`; each field names its environment variable in ``metadata``.
    """

    target: str = field(default="local", metadata=_env("ENERGY_TARGET"))
    region: str = field(default="eu-west-1", metadata=_env("ENERGY_REGION"))
    endpoint_url: str = field(default="", metadata=_env("ENERGY_ENDPOINT_URL"))
    local_port: int = field(default=4599, metadata=_env("ENERGY_LOCAL_PORT", int))
    # how the local stack ends the rollups' tumbling windows: "idle" (when the stream has nothing new, so that
    # rollups follow in seconds) or "clock" (on the window's end, as on AWS: the open window can be seen)
    local_windows: str = field(default="idle", metadata=_env("ENERGY_LOCAL_WINDOWS"))
    bucket: str = field(default="energy-workbook-data-local", metadata=_env("ENERGY_BUCKET"))
    raw_prefix: str = field(default="raw/", metadata=_env("ENERGY_RAW_PREFIX"))
    quarantine_prefix: str = field(default="quarantine/", metadata=_env("ENERGY_QUARANTINE_PREFIX"))
    lake_prefix: str = field(default="lake/", metadata=_env("ENERGY_LAKE_PREFIX"))
    readings_table: str = field(default="energy-workbook-readings", metadata=_env("ENERGY_READINGS_TABLE"))
    rollups_table: str = field(default="energy-workbook-rollups", metadata=_env("ENERGY_ROLLUPS_TABLE"))
    ledger_table: str = field(default="energy-workbook-ledger", metadata=_env("ENERGY_LEDGER_TABLE"))
    sites_table: str = field(default="energy-workbook-sites", metadata=_env("ENERGY_SITES_TABLE"))
    ingest_queue: str = field(default="energy-workbook-ingest", metadata=_env("ENERGY_INGEST_QUEUE"))
    dead_letter_queue: str = field(default="energy-workbook-ingest-dlq", metadata=_env("ENERGY_DEAD_LETTER_QUEUE"))
    rollups_dead_letter_queue: str = field(
        default="energy-workbook-rollups-dlq", metadata=_env("ENERGY_ROLLUPS_DEAD_LETTER_QUEUE")
    )
    alerts_topic: str = field(default="energy-workbook-anomalies", metadata=_env("ENERGY_ALERTS_TOPIC"))
    alerts_topic_arn: str = field(default="", metadata=_env("ENERGY_ALERTS_TOPIC_ARN"))
    alerts_queue: str = field(default="energy-workbook-alerts", metadata=_env("ENERGY_ALERTS_QUEUE"))
    function_name: str = field(default="energy-workbook-ingest", metadata=_env("ENERGY_FUNCTION_NAME"))
    aggregator_function_name: str = field(
        default="energy-workbook-rollups", metadata=_env("ENERGY_AGGREGATOR_FUNCTION_NAME")
    )
    # the history lake: Glue database (its table is ``readings``), Athena workgroup, compaction function
    glue_database: str = field(default="energy_workbook", metadata=_env("ENERGY_GLUE_DATABASE"))
    athena_workgroup: str = field(default="energy-workbook", metadata=_env("ENERGY_ATHENA_WORKGROUP"))
    compaction_function: str = field(default="energy-workbook-compaction", metadata=_env("ENERGY_COMPACTION_FUNCTION"))
    implausible_kwh: Decimal = field(default=Decimal("1000"), metadata=_env("ENERGY_IMPLAUSIBLE_KWH", Decimal))
    severity_medium_kwh: Decimal = field(default=Decimal("10"), metadata=_env("ENERGY_SEVERITY_MEDIUM_KWH", Decimal))
    severity_high_kwh: Decimal = field(default=Decimal("50"), metadata=_env("ENERGY_SEVERITY_HIGH_KWH", Decimal))
    max_attempts: int = field(default=8, metadata=_env("ENERGY_MAX_ATTEMPTS", int))
    # limits on what one source object may hold; past one the file is quarantined (see energy_lib.parsing)
    max_decompressed_bytes: int = field(default=512 * 2**20, metadata=_env("ENERGY_MAX_DECOMPRESSED_BYTES", int))
    max_record_bytes: int = field(default=2**20, metadata=_env("ENERGY_MAX_RECORD_BYTES", int))
    max_depth: int = field(default=16, metadata=_env("ENERGY_MAX_DEPTH", int))
    # deployment choices (Terraform variables) that the provisioning checks expect to find
    max_receive_count: int = field(default=5, metadata=_env("ENERGY_MAX_RECEIVE_COUNT", int))
    log_retention_days: int = field(default=30, metadata=_env("ENERGY_LOG_RETENTION_DAYS", int))
    # the hot window: readings expire this many days after they were stored (or after the reading's own time, when
    # that is later), ledger items after 19 days (energy_lib.ledger.keep_days); 0 keeps both forever. The lake
    # keeps every reading.
    readings_ttl_days: int = field(default=35, metadata=_env("ENERGY_READINGS_TTL_DAYS", int))
    state_dir: str = field(default="", metadata=_env("ENERGY_STATE_DIR"))
    reports_dir: str = field(default="reports", metadata=_env("ENERGY_REPORTS_DIR"))
    # reports run unattended: the key prefix of their history (and, on AWS, their kept files) in the bucket;
    # the time a run may take before it is stopped [s]; how often a run that hit a transient AWS error reruns
    reports_prefix: str = field(default="reports/", metadata=_env("ENERGY_REPORTS_PREFIX"))
    report_timeout_s: float = field(default=3600.0, metadata=_env("ENERGY_REPORT_TIMEOUT_S", float))
    report_retries: int = field(default=2, metadata=_env("ENERGY_REPORT_RETRIES", int))

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise ConfigError(f"ENERGY_TARGET must be one of {', '.join(TARGETS)}, not {self.target!r}")
        if not self.raw_prefix.endswith("/") or not self.quarantine_prefix.endswith("/"):
            raise ConfigError("ENERGY_RAW_PREFIX and ENERGY_QUARANTINE_PREFIX must end with '/'")
        if self.raw_prefix.startswith(self.quarantine_prefix) or self.quarantine_prefix.startswith(self.raw_prefix):
            raise ConfigError(
                f"ENERGY_RAW_PREFIX ({self.raw_prefix!r}) and ENERGY_QUARANTINE_PREFIX ({self.quarantine_prefix!r}) "
                "must not contain each other"
            )
        if not self.lake_prefix.endswith("/") or any(
            self.lake_prefix.startswith(other) or other.startswith(self.lake_prefix)
            for other in (self.raw_prefix, self.quarantine_prefix)
        ):
            raise ConfigError(
                f"ENERGY_LAKE_PREFIX ({self.lake_prefix!r}) must end with '/' and neither contain nor lie under "
                "the raw and quarantine prefixes (lake objects must never reach the ingest queue)"
            )
        if not self.reports_prefix.endswith("/") or any(
            self.reports_prefix.startswith(other) or other.startswith(self.reports_prefix)
            for other in (self.raw_prefix, self.quarantine_prefix, self.lake_prefix)
        ):
            raise ConfigError(
                f"ENERGY_REPORTS_PREFIX ({self.reports_prefix!r}) must end with '/' and neither contain nor lie under "
                "the raw, quarantine and lake prefixes"
            )
        if (
            not (math.isfinite(self.report_timeout_s) and self.report_timeout_s > 0)
            or not 0 <= self.report_retries <= 10
        ):
            raise ConfigError(
                f"ENERGY_REPORT_TIMEOUT_S must be a number of seconds above 0 (not {self.report_timeout_s}) and "
                f"ENERGY_REPORT_RETRIES 0-10 (not {self.report_retries})"
            )
        thresholds = (self.severity_medium_kwh, self.severity_high_kwh, self.implausible_kwh)
        if (
            not all(value.is_finite() for value in thresholds)
            or not Decimal(0) < thresholds[0] <= thresholds[1] <= thresholds[2]
        ):
            raise ConfigError(
                f"need 0 < ENERGY_SEVERITY_MEDIUM_KWH ({thresholds[0]}) <= ENERGY_SEVERITY_HIGH_KWH ({thresholds[1]}) "
                f"<= ENERGY_IMPLAUSIBLE_KWH ({thresholds[2]})"
            )
        if self.local_windows not in LOCAL_WINDOWS:
            names = ", ".join(LOCAL_WINDOWS)
            raise ConfigError(f"ENERGY_LOCAL_WINDOWS must be one of {names}, not {self.local_windows!r}")
        if not 0 < self.local_port < 65536:
            raise ConfigError(f"ENERGY_LOCAL_PORT must be 1-65535, not {self.local_port}")
        if self.max_attempts < 1:
            raise ConfigError(f"ENERGY_MAX_ATTEMPTS must be at least 1, not {self.max_attempts}")
        if not MIN_RECORD_BYTES <= self.max_record_bytes <= MAX_RECORD_BYTES:
            raise ConfigError(
                f"ENERGY_MAX_RECORD_BYTES must be {MIN_RECORD_BYTES}-{MAX_RECORD_BYTES}, not {self.max_record_bytes}"
            )
        if self.max_decompressed_bytes < self.max_record_bytes:
            raise ConfigError(
                f"ENERGY_MAX_DECOMPRESSED_BYTES ({self.max_decompressed_bytes}) must be at least "
                f"ENERGY_MAX_RECORD_BYTES ({self.max_record_bytes})"
            )
        if not 1 <= self.max_depth <= MAX_DEPTH:
            raise ConfigError(f"ENERGY_MAX_DEPTH must be 1-{MAX_DEPTH}, not {self.max_depth}")
        if not 1 <= self.max_receive_count <= 1000 or self.log_retention_days < 1:
            raise ConfigError("ENERGY_MAX_RECEIVE_COUNT must be 1-1000 and ENERGY_LOG_RETENTION_DAYS at least 1")
        if not 0 <= self.readings_ttl_days <= MAX_TTL_DAYS:
            raise ConfigError(
                f"ENERGY_READINGS_TTL_DAYS must be 0 (keep forever) to {MAX_TTL_DAYS}, not {self.readings_ttl_days}"
            )

    @property
    def log_group(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def aggregator_log_group(self) -> str:
        return f"/aws/lambda/{self.aggregator_function_name}"

    @property
    def endpoint(self) -> str | None:
        """The endpoint boto3 should use: the local server, an explicit override, or None for AWS."""
        if self.endpoint_url:
            return self.endpoint_url
        return f"http://127.0.0.1:{self.local_port}" if self.target == "local" else None

    @property
    def credentials(self) -> dict[str, str | None]:
        """The keys a boto3 client passes: placeholders on the local target (moto takes any, botocore needs one to
        sign a request), None on AWS, where boto3 finds the credentials itself (environment, profile, SSO, role)."""
        key = LOCAL_ACCESS_KEY if self.target == "local" else None
        return {"aws_access_key_id": key, "aws_secret_access_key": key}

    @property
    def topic_arn(self) -> str:
        """The alerts topic's ARN: given on AWS (Terraform sets it), derived from the name locally."""
        if self.alerts_topic_arn:
            return self.alerts_topic_arn
        if self.target == "aws":
            raise ConfigError("ENERGY_ALERTS_TOPIC_ARN is required on the aws target (see terraform output)")
        return f"arn:aws:sns:{self.region}:{LOCAL_ACCOUNT_ID}:{self.alerts_topic}"

    @property
    def state_path(self) -> Path:
        """Folder for the local stack's pid and log files."""
        return Path(self.state_dir or Path.home() / ".cache" / "energy-workbook").expanduser()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Settings from ``ENERGY_*`` variables, then a Terraform outputs file, then ``overrides``."""
        environ = os.environ if environ is None else environ
        values: dict[str, object] = {}
        outputs_file = environ.get("ENERGY_TERRAFORM_OUTPUTS", "")
        if outputs_file:
            values.update(terraform_outputs(Path(outputs_file)))
        for f in fields(cls):
            raw = environ.get(f.metadata["env"])
            if raw not in (None, ""):
                values[f.name] = _convert(f.metadata["env"], raw, f.metadata["kind"])
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def environment(self) -> dict[str, str]:
        """The ``ENERGY_*`` variables that reproduce these settings (for a child process or a Lambda)."""
        return {f.metadata["env"]: str(getattr(self, f.name)) for f in fields(self) if getattr(self, f.name) != ""}

    def public_view(self) -> dict[str, object]:
        """The resolved names a user or a notebook needs (``energy-workbook config --json``): with the endpoint,
        the region and the :attr:`credentials`, what a boto3 client of one's own needs on either target."""
        return {
            "target": self.target,
            "region": self.region,
            "endpoint_url": self.endpoint,
            **self.credentials,
            "bucket": self.bucket,
            "raw_prefix": self.raw_prefix,
            "quarantine_prefix": self.quarantine_prefix,
            "lake_prefix": self.lake_prefix,
            "reports_prefix": self.reports_prefix,
            "readings_table": self.readings_table,
            "rollups_table": self.rollups_table,
            "ledger_table": self.ledger_table,
            "sites_table": self.sites_table,
            "ingest_queue": self.ingest_queue,
            "dead_letter_queue": self.dead_letter_queue,
            "rollups_dead_letter_queue": self.rollups_dead_letter_queue,
            "alerts_topic": self.alerts_topic,
            "alerts_topic_arn": self.alerts_topic_arn or (self.topic_arn if self.target == "local" else ""),
            "alerts_queue": self.alerts_queue,
            "function_name": self.function_name,
            "log_group": self.log_group,
            "aggregator_function_name": self.aggregator_function_name,
            "aggregator_log_group": self.aggregator_log_group,
            "glue_database": self.glue_database,
            "athena_workgroup": self.athena_workgroup,
            "compaction_function": self.compaction_function,
            "readings_ttl_days": self.readings_ttl_days,  # the hot window; older readings are the lake's
        }


PATH_VARIABLES = ("ENERGY_TERRAFORM_OUTPUTS", "ENERGY_STATE_DIR", "ENERGY_REPORTS_DIR")


def absolute_path_variables(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The path variables that are set to a relative path, made absolute against the current directory
    (for a child process that runs elsewhere, such as a notebook kernel)."""
    environ = os.environ if environ is None else environ
    return {
        name: str(Path(environ[name]).expanduser().absolute())
        for name in PATH_VARIABLES
        if environ.get(name) and not Path(environ[name]).expanduser().is_absolute()
    }


def env_names() -> dict[str, str]:
    """Field name -> environment variable name, for every setting."""
    return {f.name: f.metadata["env"] for f in fields(Settings)}


def _convert(name: str, raw: str, kind: type) -> object:
    try:
        value = kind(raw)
    except Exception as exc:  # int("x") raises ValueError, Decimal("x") InvalidOperation
        raise ConfigError(f"{name}={raw!r} is not a valid {kind.__name__}") from exc
    if isinstance(value, Decimal) and not value.is_finite():
        raise ConfigError(f"{name}={raw!r} is not a finite number")
    return value


# Terraform output name -> settings field (outputs.tf declares exactly these).
TERRAFORM_OUTPUTS = {
    "region": "region",
    "bucket": "bucket",
    "readings_table": "readings_table",
    "rollups_table": "rollups_table",
    "ledger_table": "ledger_table",
    "sites_table": "sites_table",
    "ingest_queue": "ingest_queue",
    "dead_letter_queue": "dead_letter_queue",
    "rollups_dead_letter_queue": "rollups_dead_letter_queue",
    "alerts_topic": "alerts_topic",
    "alerts_topic_arn": "alerts_topic_arn",
    "alerts_queue": "alerts_queue",
    "function_name": "function_name",
    "aggregator_function_name": "aggregator_function_name",
    "glue_database": "glue_database",
    "athena_workgroup": "athena_workgroup",
    "compaction_function": "compaction_function",
    "max_receive_count": "max_receive_count",
    "log_retention_days": "log_retention_days",
    "readings_ttl_days": "readings_ttl_days",
}


def terraform_outputs(path: Path) -> dict[str, object]:
    """Settings from a ``terraform output -json`` file; implies ``target="aws"``."""
    try:
        outputs = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read Terraform outputs from {path}: {exc}") from exc
    if not isinstance(outputs, dict):
        raise ConfigError(f"{path}: expected the object `terraform output -json` writes")
    values: dict[str, object] = {"target": "aws"}
    kinds = {f.name: f.metadata["kind"] for f in fields(Settings)}
    for output, name in TERRAFORM_OUTPUTS.items():
        if output in outputs:
            try:
                value = outputs[output]["value"]
            except (KeyError, TypeError) as exc:
                raise ConfigError(
                    f"{path}: output {output!r} has no 'value' (expected `terraform output -json`)"
                ) from exc
            kind = kinds[name]
            values[name] = value if kind is str else _convert(f"{path}: output {output}", str(value), kind)
    return values
