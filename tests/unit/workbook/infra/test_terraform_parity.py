"""terraform/ declares what the shared spec says: infra_spec, schema and the configuration object.

The local provisioner builds the stack from the same spec, so this test keeps the AWS and local targets
in step. terraform/ is parsed with python-hcl2; resources are found by following references from the
outputs that ``energy-workbook config`` reads (``TERRAFORM_OUTPUTS``), so the test follows renames of
Terraform resources and fails on a changed value on either side.

python-hcl2 output shapes differ between versions: 4.x gives ``raw/`` for a literal and
``${var.x}`` for an expression; 7.x and later give ``"raw/"`` (quotes kept), quoted block labels and
``__is_block__`` markers. :func:`normalize` brings both to the 4.x shape.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any

import hcl2
import pytest

from energy_lib.config import TERRAFORM_OUTPUTS, Settings, env_names
from energy_lib.rules import SEVERITIES
from energy_lib.schema import Table
from energy_lib.workbook.infra.spec import AGGREGATOR, BUCKET, COMPACTION, FUNCTION, LAKE, QUEUE, TABLE
from tests.conftest import REPO

TERRAFORM_DIR = REPO / "terraform"
REFERENCE = re.compile(r"^\$\{(?P<type>aws_\w+)\.(?P<name>\w+)(?:\[[^\]]*\])?\.(?P<attribute>\w+)\}$")
POLICY_DOCUMENT = re.compile(r"^\$\{data\.aws_iam_policy_document\.(?P<name>\w+)(?:\[each\.key\])?\.json\}$")
LOCAL_OR_VAR = re.compile(r"^\$\{(?P<kind>local|var)\.(?P<name>\w+)\}$")
SNAKE_CASE = re.compile(r"^[a-z][a-z0-9_]*$")
HOT_WINDOW_ON = "${var.readings_ttl_days > 0}"  # the time to live of the hot window's tables
LOCAL_IN_TEXT = re.compile(r"\$\{local\.(?P<name>\w+)\}")


# --- parsing --------------------------------------------------------------------------------------


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return text[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return text


def normalize(node: Any) -> Any:
    """python-hcl2 output of any version -> plain values, without markers, comments or string quotes."""
    if isinstance(node, dict):
        return {_unquote(key): normalize(value) for key, value in node.items() if not key.startswith("__")}
    if isinstance(node, list):
        return [normalize(item) for item in node]
    if isinstance(node, str):
        return _unquote(node)
    return node


@dataclass
class Terraform:
    """The parsed module: resources by (type, name), data sources, variables, locals, outputs."""

    resources: dict[tuple[str, str], dict[str, Any]]
    data: dict[tuple[str, str], dict[str, Any]]
    variables: dict[str, dict[str, Any]]
    locals: dict[str, Any]
    outputs: dict[str, dict[str, Any]]

    @classmethod
    def load(cls, directory: Path) -> Terraform:
        module = cls({}, {}, {}, {}, {})
        for path in sorted(directory.glob("*.tf")):
            with path.open() as file:
                parsed = normalize(hcl2.load(file))
            for kind, target in (("resource", module.resources), ("data", module.data)):
                for block in parsed.get(kind, []):
                    for type_, named in block.items():
                        for name, body in named.items():
                            target[(type_, name)] = body
            for block in parsed.get("variable", []):
                module.variables.update(block)
            for block in parsed.get("locals", []):
                module.locals.update(block)
            for block in parsed.get("output", []):
                module.outputs.update(block)
        return module

    def value(self, expression: Any) -> Any:
        """``${local.x}`` and ``${var.x}`` resolved (a variable to its default); anything else as it is."""
        if isinstance(expression, list):
            return [self.value(item) for item in expression]
        if not isinstance(expression, str):
            return expression
        match = LOCAL_OR_VAR.match(expression)
        if not match:
            return expression
        if match["kind"] == "local":
            return self.value(self.locals[match["name"]])
        return self.value(self.variables[match["name"]].get("default"))

    def expand(self, expression: Any) -> Any:
        """Text with every ``${local.x}`` inside it replaced by that local's text (references to resources
        stay as they are)."""
        if not isinstance(expression, str):
            return expression
        return LOCAL_IN_TEXT.sub(lambda match: str(self.expand(self.locals[match["name"]])), expression)

    def referenced(self, expression: Any, type_: str) -> tuple[str, str]:
        """The (type, name) of the ``type_`` resource that ``expression`` refers to, e.g. ``${aws_x.y.arn}``."""
        match = REFERENCE.match(expression) if isinstance(expression, str) else None
        if not match or match["type"] != type_:
            raise LookupError(f"{expression!r} does not refer to a {type_}")
        key = (match["type"], match["name"])
        if key not in self.resources:
            raise LookupError(f"{expression!r} refers to {key}, which terraform/ does not declare")
        return key

    def policy_document(self, expression: Any) -> dict[str, Any]:
        """The ``aws_iam_policy_document`` that ``${data.aws_iam_policy_document.x.json}`` names ({} if none)."""
        match = POLICY_DOCUMENT.match(expression) if isinstance(expression, str) else None
        return self.data.get(("aws_iam_policy_document", match["name"]), {}) if match else {}

    def output_resource(self, output: str, type_: str) -> tuple[str, str]:
        if output not in self.outputs:
            raise LookupError(f"terraform/ has no output {output!r}")
        return self.referenced(self.outputs[output].get("value"), type_)

    def each_values(self, body: dict[str, Any]) -> list[str | None]:
        """What ``each.value`` stands for in each instance of a resource: ``[None]`` without ``for_each``;
        with ``for_each = local.x`` over a map of resources, their addresses (``aws_s3_bucket.data``)."""
        if "for_each" not in body:
            return [None]
        entries = self.value(body["for_each"])
        if not isinstance(entries, dict):
            raise LookupError(f"for_each {body['for_each']!r} is not a local map")
        return [str(value).removeprefix("${").removesuffix("}") for value in entries.values()]

    def attached(self, type_: str, attribute: str, target: tuple[str, str]) -> list[dict[str, Any]]:
        """Resources of ``type_`` whose ``attribute`` (in any instance of a ``for_each``) refers to ``target``
        (e.g. versioning of a bucket), each once."""
        found = []
        for (kind, _), body in self.resources.items():
            if kind != type_:
                continue
            for each_value in self.each_values(body):
                expression = str(body.get(attribute, ""))
                if each_value is not None:
                    expression = expression.replace("each.value", each_value)
                match = REFERENCE.match(expression)
                if match and (match["type"], match["name"]) == target:
                    found.append(body)
                    break
        return found


def block(body: dict[str, Any], name: str) -> dict[str, Any]:
    """The single nested block ``name`` of a resource (a list of one dict in every hcl2 version)."""
    blocks = body.get(name) or [{}]
    return blocks[0] if isinstance(blocks, list) else blocks


def encoded(expression: Any, key: str) -> str | None:
    """The expression of ``key`` inside ``jsonencode({ key = ... })``, e.g. ``var.max_receive_count``.

    python-hcl2 4.x renders the object as ``{'key': '${var.x}'}``, later versions as ``{key = var.x}``.
    """
    match = re.search(rf"""['"]?\b{key}['"]?\s*[=:]\s*['"]?(?:\$\{{)?([\w.\-/]+)""", str(expression))
    return match.group(1) if match else None


def jsonencoded(tf: Terraform, expression: Any, key: str) -> Any:
    """A value inside ``jsonencode({ key = ... })``, resolved when it is a local or variable."""
    raw = encoded(expression, key)
    return tf.value(f"${{{raw}}}") if raw and raw.startswith(("local.", "var.")) else raw


@pytest.fixture(scope="module")
def tf() -> Terraform:
    return Terraform.load(TERRAFORM_DIR)


# --- comparisons: each returns a list of problems, [] when terraform/ matches the spec -------------


@dataclass(frozen=True)
class Spec:
    bucket: Any = BUCKET
    queue: Any = QUEUE
    function: Any = FUNCTION
    aggregator: Any = AGGREGATOR
    table: Any = TABLE
    lake: Any = LAKE
    compaction: Any = COMPACTION
    settings: Settings = Settings()
    outputs: tuple[str, ...] = tuple(TERRAFORM_OUTPUTS)


SPEC = Spec()


def _compare(problems: list[str], what: str, expected: Any, actual: Any) -> None:
    if expected != actual:
        problems.append(f"{what}: spec says {expected!r}, terraform/ says {actual!r}")


def bucket_problems(tf: Terraform, spec: Spec) -> list[str]:
    problems: list[str] = []
    bucket = tf.output_resource("bucket", "aws_s3_bucket")

    def one(type_: str) -> dict[str, Any]:
        found = tf.attached(type_, "bucket", bucket)
        if len(found) != 1:
            problems.append(f"{type_}: expected one for {bucket}, found {len(found)}")
            return {}
        return found[0]

    _compare(
        problems,
        "versioning",
        spec.bucket.versioning,
        block(one("aws_s3_bucket_versioning"), "versioning_configuration").get("status"),
    )
    sse = block(
        block(one("aws_s3_bucket_server_side_encryption_configuration"), "rule"),
        "apply_server_side_encryption_by_default",
    )
    _compare(problems, "encryption", spec.bucket.encryption, sse.get("sse_algorithm"))
    flags = {
        "BlockPublicAcls": "block_public_acls",
        "IgnorePublicAcls": "ignore_public_acls",
        "BlockPublicPolicy": "block_public_policy",
        "RestrictPublicBuckets": "restrict_public_buckets",
    }
    access = one("aws_s3_bucket_public_access_block")
    _compare(
        problems,
        "public access block",
        sorted(spec.bucket.public_access_block),
        sorted(flag for flag, attribute in flags.items() if tf.value(access.get(attribute)) is True),
    )
    ownership = block(one("aws_s3_bucket_ownership_controls"), "rule").get("object_ownership")
    _compare(problems, "object ownership", spec.bucket.object_ownership, ownership)

    policy = one("aws_s3_bucket_policy")
    document = tf.policy_document(policy.get("policy"))
    tls = [s for s in document.get("statement", []) if block(s, "condition").get("variable") == "aws:SecureTransport"]
    _compare(problems, "TLS-only deny statement", ["Deny"], [s.get("effect") for s in tls])

    rules = {rule.get("id"): rule for rule in one("aws_s3_bucket_lifecycle_configuration").get("rule", [])}
    _compare(
        problems,
        "lifecycle rules (the provisioning checks read their ids)",
        sorted(spec.bucket.lifecycle_rules),
        sorted(rules),
    )
    quarantine = [
        r for r in rules.values() if tf.value(block(r, "filter").get("prefix")) == spec.settings.quarantine_prefix
    ]
    _compare(
        problems,
        "quarantine expiry [days]",
        [spec.bucket.quarantine_expiry_days],
        [tf.value(block(r, "expiration").get("days")) for r in quarantine],
    )
    noncurrent = {
        tf.value(block(r, "filter").get("prefix")): tf.value(
            block(r, "noncurrent_version_expiration").get("noncurrent_days")
        )
        for r in rules.values()
        if block(r, "noncurrent_version_expiration")
    }
    _compare(
        problems,
        "noncurrent version expiry [days] by prefix",
        {
            "": spec.bucket.noncurrent_version_expiry_days,
            spec.settings.lake_prefix: spec.lake.noncurrent_expiry_days,
            spec.bucket.checkpoint_prefix: spec.bucket.checkpoint_noncurrent_expiry_days,
        },
        noncurrent,
    )
    results = [r for r in rules.values() if tf.value(block(r, "filter").get("prefix")) == spec.lake.results_prefix]
    _compare(
        problems,
        "Athena results expiry [days]",
        [spec.lake.results_expiry_days],
        [tf.value(block(r, "expiration").get("days")) for r in results],
    )
    checkpoints = [
        tf.value(block(r, "expiration").get("days"))
        for r in rules.values()
        if tf.value(block(r, "filter").get("prefix")) == spec.bucket.checkpoint_prefix
    ]
    _compare(problems, "checkpoint expiry [days]", [spec.bucket.checkpoint_expiry_days], checkpoints)

    notification = block(one("aws_s3_bucket_notification"), "queue")
    ingest = tf.output_resource("ingest_queue", "aws_sqs_queue")
    _compare(problems, "notification target", ingest, tf.referenced(notification.get("queue_arn"), "aws_sqs_queue"))
    _compare(problems, "notification events", list(spec.bucket.notification_events), notification.get("events"))
    _compare(problems, "notification prefix", spec.settings.raw_prefix, tf.value(notification.get("filter_prefix")))
    return problems


def queue_problems(tf: Terraform, spec: Spec) -> list[str]:
    problems: list[str] = []
    ingest_key = tf.output_resource("ingest_queue", "aws_sqs_queue")
    dlq_key = tf.output_resource("dead_letter_queue", "aws_sqs_queue")
    ingest, dlq = tf.resources[ingest_key], tf.resources[dlq_key]
    redrive = str(ingest.get("redrive_policy", ""))
    target = encoded(redrive, "deadLetterTargetArn")
    _compare(
        problems,
        "redrive target",
        dlq_key,
        tf.referenced(f"${{{target}}}", "aws_sqs_queue") if target else None,
    )
    _compare(problems, "maxReceiveCount", spec.settings.max_receive_count, jsonencoded(tf, redrive, "maxReceiveCount"))
    visibility = tf.value(ingest.get("visibility_timeout_seconds"))
    _compare(problems, "visibility timeout [s]", spec.queue.visibility_timeout_s, visibility)
    function = tf.resources[tf.output_resource("function_name", "aws_lambda_function")]
    timeout = tf.value(function.get("timeout"))
    if not (isinstance(visibility, int) and isinstance(timeout, int) and visibility > timeout):
        problems.append(f"visibility timeout {visibility!r} must be above the function timeout {timeout!r}")
    _compare(
        problems,
        "ingest retention [s]",
        spec.queue.message_retention_s,
        tf.value(ingest.get("message_retention_seconds")),
    )
    _compare(
        problems,
        "dead-letter retention [s]",
        spec.queue.dead_letter_retention_s,
        tf.value(dlq.get("message_retention_seconds")),
    )
    alerts = tf.resources[tf.output_resource("alerts_queue", "aws_sqs_queue")]
    for name, queue in (("ingest", ingest), ("dead-letter", dlq), ("alerts", alerts)):
        _compare(
            problems,
            f"{name} queue managed encryption",
            spec.queue.managed_encryption,
            tf.value(queue.get("sqs_managed_sse_enabled")),
        )

    policies = tf.attached("aws_sqs_queue_policy", "queue_url", ingest_key)
    document = tf.policy_document(policies[0].get("policy")) if policies else {}
    conditions = {c.get("variable") for s in document.get("statement", []) for c in s.get("condition", [])}
    _compare(
        problems,
        "ingest queue policy conditions",
        {"aws:SourceArn", "aws:SourceAccount"},
        conditions & {"aws:SourceArn", "aws:SourceAccount"},
    )
    return problems


def table_problems(tf: Terraform, spec: Spec) -> list[str]:
    problems: list[str] = []
    for table in spec.table.tables:
        body = tf.resources[tf.output_resource(table.setting, "aws_dynamodb_table")]
        problems += _table_problems(tf, spec, table, body)
    return problems


def _table_problems(tf: Terraform, spec: Spec, table: Table, body: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    what = table.setting
    _compare(
        problems, f"{what} keys", [table.partition_key, table.sort_key], [body.get("hash_key"), body.get("range_key")]
    )
    attributes = {a.get("name"): a.get("type") for a in body.get("attribute", [])}
    _compare(problems, f"{what} attributes", table.attributes(), attributes)
    indexes = {
        i.get("name"): (i.get("hash_key"), i.get("range_key"), i.get("projection_type"))
        for i in body.get("global_secondary_index", [])
    }
    _compare(
        problems, f"{what} indexes", {i.name: (i.partition_key, i.sort_key, "ALL") for i in table.indexes}, indexes
    )
    _compare(problems, f"{what} billing", spec.table.billing_mode, body.get("billing_mode"))
    _compare(
        problems,
        f"{what} point-in-time recovery",
        spec.table.point_in_time_recovery,
        block(body, "point_in_time_recovery").get("enabled"),
    )
    _compare(
        problems,
        f"{what} encryption",
        spec.table.server_side_encryption,
        block(body, "server_side_encryption").get("enabled"),
    )
    _compare(
        problems,
        f"{what} stream",
        table.stream_view_type,
        body.get("stream_view_type", "") if tf.value(body.get("stream_enabled")) is True else "",
    )
    ttl = block(body, "ttl")
    _compare(
        problems,
        f"{what} time to live",
        table.ttl_attribute,
        ttl.get("attribute_name", "") if ttl.get("enabled") else "",
    )
    if table.ttl_attribute:  # on while readings_ttl_days is not 0 for the tables of the hot window, else always
        hot = table.setting in spec.table.hot_window_tables
        _compare(problems, f"{what} time to live on", HOT_WINDOW_ON if hot else True, ttl.get("enabled"))
    return problems


def function_problems(tf: Terraform, spec: Spec) -> list[str]:
    problems: list[str] = []
    key = tf.output_resource("function_name", "aws_lambda_function")
    function = tf.resources[key]
    fn = spec.function
    for what, expected, attribute in (
        ("runtime", fn.runtime, "runtime"),
        ("handler", fn.handler, "handler"),
        ("timeout [s]", fn.timeout_s, "timeout"),
        ("memory [MB]", fn.memory_mb, "memory_size"),
        ("reserved concurrency", fn.reserved_concurrency, "reserved_concurrent_executions"),
    ):
        _compare(problems, what, expected, tf.value(function.get(attribute)))
    package = PurePosixPath(str(tf.value(tf.variables["lambda_zip_path"].get("default"))))
    _compare(problems, "package", ("build", "lambda.zip"), package.parts[-2:])

    variables = block(function, "environment").get("variables", {})
    names = env_names()
    _compare(problems, "environment names", sorted(names[f] for f in fn.environment_settings), sorted(variables))
    for field in ("raw_prefix", "quarantine_prefix", "target"):
        if field in fn.environment_settings:
            expected = "aws" if field == "target" else getattr(spec.settings, field)
            _compare(problems, f"environment {names[field]}", expected, tf.value(variables.get(names[field])))
    for field in ("implausible_kwh", "severity_medium_kwh", "severity_high_kwh"):
        default = tf.variables.get(field, {}).get("default")
        _compare(problems, f"variable {field} default", getattr(spec.settings, field), Decimal(str(default)))
    for field in ("max_decompressed_bytes", "max_record_bytes", "max_depth", "readings_ttl_days"):
        default = tf.variables.get(field, {}).get("default")
        _compare(problems, f"variable {field} default", getattr(spec.settings, field), default)
        _compare(problems, f"environment {names[field]}", f"${{tostring(var.{field})}}", variables.get(names[field]))
    storage = tf.value(block(function, "ephemeral_storage").get("size"))
    _compare(problems, "ephemeral storage [MB]", fn.ephemeral_storage_mb, storage)

    mappings = tf.attached("aws_lambda_event_source_mapping", "function_name", key)
    if len(mappings) != 1:
        return [*problems, f"expected one event source mapping for {key}, found {len(mappings)}"]
    mapping = mappings[0]
    ingest = tf.output_resource("ingest_queue", "aws_sqs_queue")
    _compare(problems, "mapping source", ingest, tf.referenced(mapping.get("event_source_arn"), "aws_sqs_queue"))
    _compare(problems, "batch size", fn.batch_size, tf.value(mapping.get("batch_size")))
    _compare(
        problems,
        "batching window [s]",
        fn.batching_window_s,
        tf.value(mapping.get("maximum_batching_window_in_seconds")),
    )
    _compare(
        problems, "response types", list(fn.function_response_types), tf.value(mapping.get("function_response_types"))
    )

    log_group = tf.referenced(block(function, "logging_config").get("log_group"), "aws_cloudwatch_log_group")
    retention = tf.value(tf.resources[log_group].get("retention_in_days"))
    _compare(problems, "log retention [days]", spec.settings.log_retention_days, retention)
    _compare(problems, "log group name", "/aws/lambda/${local.function_name}", tf.locals.get("log_group_name"))
    return problems


def _role_statements(tf: Terraform, function: dict[str, Any]) -> list[dict[str, Any]]:
    """Every policy statement on the role of ``function`` (the inline policies of its aws_iam_role_policy)."""
    role = tf.referenced(function.get("role"), "aws_iam_role")
    statements = []
    for body in tf.attached("aws_iam_role_policy", "role", role):
        for expression in body.get("for_each", {}).values():
            statements += tf.policy_document(expression).get("statement", [])
    return statements


def _environment_problems(
    problems: list[str], tf: Terraform, spec: Spec, what: str, function: dict[str, Any], settings: tuple[str, ...]
) -> None:
    """A lake writer's ENERGY_* variables: exactly those of ``settings``, the AWS target, the data bucket and
    the lake prefix."""
    variables = block(function, "environment").get("variables", {})
    names = env_names()
    _compare(problems, f"{what} environment names", sorted(names[f] for f in settings), sorted(variables))
    _compare(problems, f"{what} ENERGY_TARGET", "aws", variables.get(names["target"]))
    _compare(problems, f"{what} bucket", "${aws_s3_bucket.data.id}", variables.get(names["bucket"]))
    _compare(problems, f"{what} lake prefix", spec.settings.lake_prefix, tf.value(variables.get(names["lake_prefix"])))


def aggregator_problems(tf: Terraform, spec: Spec) -> list[str]:
    problems: list[str] = []
    key = tf.output_resource("aggregator_function_name", "aws_lambda_function")
    function = tf.resources[key]
    ingest = tf.resources[tf.output_resource("function_name", "aws_lambda_function")]
    agg = spec.aggregator
    for what, expected, attribute in (
        ("runtime", spec.function.runtime, "runtime"),
        ("handler", agg.handler, "handler"),
        ("timeout [s]", agg.timeout_s, "timeout"),
        ("memory [MB]", agg.memory_mb, "memory_size"),
    ):
        _compare(problems, f"aggregator {what}", expected, tf.value(function.get(attribute)))
    _compare(problems, "aggregator package (the ingest's zip)", ingest.get("filename"), function.get("filename"))
    _environment_problems(problems, tf, spec, "aggregator", function, agg.environment_settings)
    log_group = tf.resources[
        tf.referenced(block(function, "logging_config").get("log_group"), "aws_cloudwatch_log_group")
    ]
    _compare(
        problems,
        "aggregator log retention",
        spec.settings.log_retention_days,
        tf.value(log_group.get("retention_in_days")),
    )
    _compare(
        problems, "aggregator log group", "/aws/lambda/${local.aggregator_name}", tf.locals.get("aggregator_log_group")
    )

    mappings = tf.attached("aws_lambda_event_source_mapping", "function_name", key)
    if len(mappings) != 1:
        return [*problems, f"expected one event source mapping for {key}, found {len(mappings)}"]
    mapping = mappings[0]
    readings = tf.output_resource("readings_table", "aws_dynamodb_table")
    _compare(
        problems, "mapping source", f"${{{readings[0]}.{readings[1]}.stream_arn}}", mapping.get("event_source_arn")
    )
    for what, expected, attribute in (
        ("batch size", agg.batch_size, "batch_size"),
        ("batching window [s]", agg.batching_window_s, "maximum_batching_window_in_seconds"),
        ("starting position", agg.starting_position, "starting_position"),
        ("bisect on error", agg.bisect_on_error, "bisect_batch_on_function_error"),
        ("retry attempts", agg.maximum_retry_attempts, "maximum_retry_attempts"),
        ("record age [s]", agg.maximum_record_age_s, "maximum_record_age_in_seconds"),
        ("parallelization factor", agg.parallelization_factor, "parallelization_factor"),
        ("tumbling window [s]", agg.tumbling_window_s, "tumbling_window_in_seconds"),
        ("response types", list(agg.function_response_types), "function_response_types"),
    ):
        _compare(problems, f"stream mapping {what}", expected, tf.value(mapping.get(attribute)))
    dlq_key = tf.output_resource("rollups_dead_letter_queue", "aws_sqs_queue")
    destination = block(block(mapping, "destination_config"), "on_failure").get("destination_arn")
    _compare(
        problems,
        "stream mapping on-failure destination",
        dlq_key,
        tf.referenced(destination, "aws_sqs_queue") if destination else None,
    )
    dlq = tf.resources[dlq_key]
    _compare(
        problems,
        "rollups dead-letter retention [s]",
        spec.queue.rollups_dead_letter_retention_s,
        tf.value(dlq.get("message_retention_seconds")),
    )
    _compare(problems, "rollups dead-letter encryption", True, tf.value(dlq.get("sqs_managed_sse_enabled")))

    alarms = {
        (alarm.get("namespace"), alarm.get("metric_name"), json.dumps(alarm.get("dimensions"), sort_keys=True))
        for alarm in tf.locals.get("metric_alarms", {}).values()
    }
    function_dimension = json.dumps({"FunctionName": f"${{{key[0]}.{key[1]}.function_name}}"})
    for wanted in (
        ("AWS/Lambda", "IteratorAge", function_dimension),
        ("AWS/Lambda", "Errors", function_dimension),
        (
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            json.dumps({"QueueName": f"${{{dlq_key[0]}.{dlq_key[1]}.name}}"}),
        ),
    ):
        if wanted not in alarms:
            problems.append(f"no alarm on {wanted}")

    stream_arn = f"${{{readings[0]}.{readings[1]}.stream_arn}}"
    statements = _role_statements(tf, function)
    stream_reads = [s for s in statements if "dynamodb:GetRecords" in s.get("actions", [])]
    _compare(
        problems,
        "aggregator reads exactly the readings stream",
        [[stream_arn]],
        [s.get("resources") for s in stream_reads],
    )
    rollups = tf.output_resource("rollups_table", "aws_dynamodb_table")
    table_actions = sorted(
        action
        for statement in statements
        for action in statement.get("actions", [])
        if action.startswith("dynamodb:") and statement not in stream_reads and "ListStreams" not in action
    )
    _compare(problems, "aggregator table actions", ["dynamodb:BatchGetItem", "dynamodb:PutItem"], table_actions)
    _compare(
        problems,
        "aggregator reads and writes the rollups table only",
        [[f"${{{rollups[0]}.{rollups[1]}.arn}}"]],
        [s.get("resources") for s in statements if "dynamodb:PutItem" in s.get("actions", [])],
    )
    _compare(
        problems,
        "aggregator sends to its dead-letter queue",
        [[f"${{{dlq_key[0]}.{dlq_key[1]}.arn}}"]],
        [s.get("resources") for s in statements if "sqs:SendMessage" in s.get("actions", [])],
    )
    _compare(
        problems,
        "aggregator writes change objects only, under the lake's changes/ prefix",
        [(["s3:PutObject"], [f"${{aws_s3_bucket.data.arn}}/{spec.settings.lake_prefix}changes/*"])],
        [
            (s.get("actions"), [tf.expand(resource) for resource in s.get("resources", [])])
            for s in statements
            if any(action.startswith("s3:") for action in s.get("actions", []))
        ],
    )
    ingest_actions = {a for s in _role_statements(tf, ingest) for a in s.get("actions", [])}
    for unneeded in (
        "dynamodb:BatchGetItem",
        "dynamodb:ConditionCheckItem",
        "dynamodb:TransactWriteItems",
        "dynamodb:Query",
    ):
        if unneeded in ingest_actions:
            problems.append(f"the ingest role still has {unneeded}")
    ingest_resources = " ".join(str(s.get("resources")) for s in _role_statements(tf, ingest))
    if f"{rollups[0]}.{rollups[1]}" in ingest_resources:
        problems.append("the ingest role may still touch the rollups table")
    return problems


def alert_problems(tf: Terraform, spec: Spec) -> list[str]:
    problems: list[str] = []
    topic = tf.output_resource("alerts_topic_arn", "aws_sns_topic")
    _compare(problems, "alerts_topic names the same topic", topic, tf.output_resource("alerts_topic", "aws_sns_topic"))
    if not tf.resources[topic].get("kms_master_key_id"):
        problems.append("the anomaly topic is not encrypted (kms_master_key_id)")
    subscriptions = tf.attached("aws_sns_topic_subscription", "topic_arn", topic)
    by_protocol = {s.get("protocol"): s for s in subscriptions}
    queue = tf.output_resource("alerts_queue", "aws_sqs_queue")
    _compare(
        problems,
        "alerts queue retention [s]",
        spec.queue.alerts_retention_s,
        tf.value(tf.resources.get(queue, {}).get("message_retention_seconds")) if queue else None,
    )
    sqs = by_protocol.get("sqs", {})
    _compare(
        problems, "alerts queue subscribed", queue, tf.referenced(sqs.get("endpoint"), "aws_sqs_queue") if sqs else None
    )
    email = by_protocol.get("email", {})
    _compare(problems, "email endpoint", "${var.alert_email}", email.get("endpoint"))
    _compare(
        problems, "email filter on severity", "local.alert_severities", encoded(email.get("filter_policy"), "severity")
    )
    _compare(
        problems,
        "filter from threshold",
        True,
        "var.alert_severity_threshold" in str(tf.locals.get("alert_severities")),
    )
    _compare(problems, "severities in rising order", list(SEVERITIES), tf.value(tf.locals.get("severities")))
    threshold = tf.variables.get("alert_severity_threshold", {})
    _compare(problems, "threshold default is a severity", True, tf.value(threshold.get("default")) in SEVERITIES)
    return problems


def lake_problems(tf: Terraform, spec: Spec) -> list[str]:
    """The Glue table, the Athena workgroup and the compaction function with its schedule."""
    problems: list[str] = []
    lake, compaction = spec.lake, spec.compaction
    database = tf.output_resource("glue_database", "aws_glue_catalog_database")
    tables = tf.attached("aws_glue_catalog_table", "database_name", database)
    table = tables[0] if len(tables) == 1 else {}
    _compare(problems, "one Glue table in the lake's database", 1, len(tables))
    _compare(problems, "Glue table name", lake.table, tf.value(table.get("name")))
    storage = block(table, "storage_descriptor")
    dynamic = block(storage, "dynamic").get("columns", {})
    _compare(problems, "Glue columns", [list(column) for column in lake.columns], tf.value(dynamic.get("for_each")))
    _compare(
        problems,
        "Glue partition",
        [list(lake.partition)],
        [[key.get("name"), key.get("type")] for key in table.get("partition_keys", [])],
    )
    readings = f"s3://${{aws_s3_bucket.data.id}}/{spec.settings.lake_prefix}readings/"
    _compare(problems, "lake location", readings, tf.expand(storage.get("location")))
    parameters = {key: tf.value(value) for key, value in table.get("parameters", {}).items()}
    day = lake.partition[0]
    _compare(
        problems,
        "partition projection",
        {
            "projection.enabled": "true",
            f"projection.{day}.type": "date",
            f"projection.{day}.format": lake.projection_format,
            f"projection.{day}.range": lake.projection_range,
            "storage.location.template": f"${{local.lake_readings_location}}{day}=$${{{day}}}/",
        },
        {
            key: parameters.get(key)
            for key in (
                "projection.enabled",
                f"projection.{day}.type",
                f"projection.{day}.format",
                f"projection.{day}.range",
                "storage.location.template",
            )
        },
    )

    group = block(tf.resources[tf.output_resource("athena_workgroup", "aws_athena_workgroup")], "configuration")
    results = block(group, "result_configuration")
    _compare(problems, "workgroup enforced", True, group.get("enforce_workgroup_configuration"))
    _compare(
        problems,
        "bytes scanned limit",
        lake.bytes_scanned_cutoff,
        tf.value(group.get("bytes_scanned_cutoff_per_query")),
    )
    _compare(problems, "engine", lake.engine_version, block(group, "engine_version").get("selected_engine_version"))
    _compare(
        problems,
        "results encryption",
        lake.results_encryption,
        block(results, "encryption_configuration").get("encryption_option"),
    )
    _compare(
        problems,
        "results location",
        f"s3://${{aws_s3_bucket.data.id}}/{lake.results_prefix}",
        tf.expand(results.get("output_location")),
    )

    key = tf.output_resource("compaction_function", "aws_lambda_function")
    function = tf.resources[key]
    for what, expected, attribute in (
        ("runtime", compaction.runtime, "runtime"),
        ("handler", compaction.handler, "handler"),
        ("timeout [s]", compaction.timeout_s, "timeout"),
        ("memory [MB]", compaction.memory_mb, "memory_size"),
        ("reserved concurrency", compaction.reserved_concurrency, "reserved_concurrent_executions"),
    ):
        _compare(problems, f"compaction {what}", expected, tf.value(function.get(attribute)))
    layers = [tf.value(layer) for layer in tf.value(function.get("layers", []))]
    _compare(problems, "compaction layer", [compaction.layer], [str(layer).rsplit(":", 2)[-2] for layer in layers])
    package = PurePosixPath(str(tf.value(tf.variables["compaction_zip_path"].get("default"))))
    _compare(problems, "compaction package", ("build", "compaction.zip"), package.parts[-2:])
    _environment_problems(problems, tf, spec, "compaction", function, compaction.environment_settings)
    readings = tf.output_resource("readings_table", "aws_dynamodb_table")
    writes = [s for s in _role_statements(tf, function) if any(a.startswith("dynamodb:") for a in s.get("actions", []))]
    _compare(
        problems,
        "compaction writes corrections to the readings table only",
        [(["dynamodb:BatchWriteItem"], [f"${{{readings[0]}.{readings[1]}.arn}}"])],
        [(w.get("actions"), w.get("resources")) for w in writes],
    )
    rules = [
        body
        for (kind, _), body in tf.resources.items()
        if kind == "aws_cloudwatch_event_target" and tf.referenced(body.get("arn"), "aws_lambda_function") == key
    ]
    rule = (
        tf.resources.get(
            tf.referenced(
                f"${{aws_cloudwatch_event_rule.{rules[0]['rule'].split('.')[1]}.name}}", "aws_cloudwatch_event_rule"
            )
        )
        if rules
        else {}
    )
    _compare(problems, "compaction schedule", compaction.schedule, tf.value((rule or {}).get("schedule_expression")))
    log_group = tf.referenced(block(function, "logging_config").get("log_group"), "aws_cloudwatch_log_group")
    retention = tf.value(tf.resources[log_group].get("retention_in_days"))
    _compare(problems, "compaction log retention [days]", spec.settings.log_retention_days, retention)
    return problems


def report_runner_problems(tf: Terraform, spec: Spec) -> list[str]:
    """The report runner's policy: it publishes to the alerts topic and writes under the reports prefix, nothing
    more; the prefix is Settings.reports_prefix; email gets report failures and recoveries."""
    problems: list[str] = []
    _compare(problems, "reports prefix", spec.settings.reports_prefix, tf.value(tf.locals.get("reports_prefix")))
    policy = tf.resources[tf.output_resource("report_runner_policy_arn", "aws_iam_policy")]
    statements = tf.policy_document(policy.get("policy")).get("statement", [])
    topic = tf.output_resource("alerts_topic_arn", "aws_sns_topic")
    granted = sorted(
        (action, tf.expand(resource))
        for statement in statements
        for action in statement.get("actions", [])
        for resource in statement.get("resources", [])
    )
    bucket, objects = "${aws_s3_bucket.data.arn}", f"${{aws_s3_bucket.data.arn}}/{spec.settings.reports_prefix}*"
    expected = sorted(
        [
            ("sns:Publish", f"${{{topic[0]}.{topic[1]}.arn}}"),
            ("s3:GetObject", objects),
            ("s3:PutObject", objects),
            ("s3:AbortMultipartUpload", objects),
            ("s3:ListBucket", bucket),
        ]
    )
    _compare(problems, "report runner grants (action, resource)", expected, granted)
    _compare(
        problems,
        "email gets every report alert kind",
        ["report_failed", "report_recovered", "summary"],
        sorted(tf.value(tf.locals.get("email_kinds")) or []),
    )
    return problems


def output_problems(tf: Terraform, spec: Spec) -> list[str]:
    problems = [f"missing output {name!r}" for name in spec.outputs if name not in tf.outputs]
    problems += [
        f"output {name!r} has no description" for name, body in tf.outputs.items() if not body.get("description")
    ]
    _compare(problems, "region output", "${var.aws_region}", tf.outputs.get("region", {}).get("value"))
    _compare(problems, "region default", spec.settings.region, tf.variables.get("aws_region", {}).get("default"))
    return problems


def variable_problems(tf: Terraform, spec: Spec) -> list[str]:
    problems = [
        f"variable {n!r} has no {a}"
        for n, body in tf.variables.items()
        for a in ("type", "description")
        if a not in body
    ]
    _compare(
        problems,
        "max_receive_count default",
        spec.settings.max_receive_count,
        tf.variables["max_receive_count"].get("default"),
    )
    _compare(
        problems,
        "log_retention_days default",
        spec.settings.log_retention_days,
        tf.variables["log_retention_days"].get("default"),
    )
    _compare(
        problems,
        "readings_ttl_days default",
        spec.settings.readings_ttl_days,
        tf.variables["readings_ttl_days"].get("default"),
    )
    names = ("environment", "alert_email", "alert_severity_threshold", "max_receive_count", "log_retention_days")
    for name in (*names, "readings_ttl_days"):
        if not tf.variables.get(name, {}).get("validation"):
            problems.append(f"variable {name!r} has no validation")
    names = [
        *tf.variables,
        *tf.outputs,
        *tf.locals,
        *(name for _, name in tf.resources),
        *(name for _, name in tf.data),
    ]
    problems += [f"{name!r} is not snake_case" for name in names if not SNAKE_CASE.match(name)]
    return problems


CHECKS: dict[str, Callable[[Terraform, Spec], list[str]]] = {
    "bucket": bucket_problems,
    "queues": queue_problems,
    "tables": table_problems,
    "function": function_problems,
    "aggregator": aggregator_problems,
    "alerts": alert_problems,
    "lake": lake_problems,
    "report runner": report_runner_problems,
    "outputs": output_problems,
    "variables": variable_problems,
}


# --- tests ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("area", list(CHECKS))
def test_terraform_matches_spec(tf: Terraform, area: str) -> None:
    # GIVEN terraform/ and the shared spec  WHEN they are compared  THEN they agree
    assert CHECKS[area](tf, SPEC) == []


def test_outputs_cover_what_the_workbook_reads(tf: Terraform) -> None:
    assert set(TERRAFORM_OUTPUTS) <= set(tf.outputs)


def test_outputs_feed_the_configuration_object(tf: Terraform, tmp_path: Path) -> None:
    # GIVEN a `terraform output -json` file with every declared output
    outputs = {name: {"sensitive": False, "type": "string", "value": f"{name}-value"} for name in tf.outputs}
    outputs["region"]["value"] = "eu-central-1"
    numbers = {"max_receive_count": 3, "log_retention_days": 14, "readings_ttl_days": 90}
    for name, number in numbers.items():
        outputs[name] = {"sensitive": False, "type": "number", "value": number}
    path = tmp_path / "terraform-outputs.json"
    path.write_text(json.dumps(outputs))
    # WHEN the workbook reads it
    settings = Settings.from_env({"ENERGY_TERRAFORM_OUTPUTS": str(path)})
    # THEN every setting the outputs name comes from them, on the aws target
    assert settings.target == "aws"
    assert settings.region == "eu-central-1"
    named = {output: field for output, field in TERRAFORM_OUTPUTS.items() if field != "region"}
    assert {field: getattr(settings, field) for field in named.values()} == {
        field: numbers.get(output, f"{output}-value") for output, field in named.items()
    }


def _resource(tf: Terraform, output: str, type_: str) -> dict[str, Any]:
    return tf.resources[tf.output_resource(output, type_)]


def _mapping(tf: Terraform) -> dict[str, Any]:
    key = tf.output_resource("function_name", "aws_lambda_function")
    return tf.attached("aws_lambda_event_source_mapping", "function_name", key)[0]


def _drop_env(tf: Terraform) -> None:
    variables = block(_resource(tf, "function_name", "aws_lambda_function"), "environment")["variables"]
    variables.pop(next(iter(variables)))


def _stream_mapping(tf: Terraform) -> dict[str, Any]:
    key = tf.output_resource("aggregator_function_name", "aws_lambda_function")
    return tf.attached("aws_lambda_event_source_mapping", "function_name", key)[0]


def _grant_transactions(tf: Terraform) -> None:
    tf.data[("aws_iam_policy_document", "ingest_tables")]["statement"][0]["actions"].append(
        "dynamodb:ConditionCheckItem"
    )


def _drop_index(tf: Terraform) -> None:
    _resource(tf, "readings_table", "aws_dynamodb_table")["global_secondary_index"].pop()


# Each case changes one side (a parsed copy of terraform/, or the spec) and names the check that must notice.
MUTATIONS: dict[str, tuple[str, Callable[[Terraform], None] | None, Spec]] = {
    "terraform batch size": ("function", lambda tf: _mapping(tf).update(batch_size=99), SPEC),
    "terraform env variable dropped": ("function", _drop_env, SPEC),
    "terraform GSI dropped": ("tables", _drop_index, SPEC),
    "terraform billing": (
        "tables",
        lambda tf: _resource(tf, "ledger_table", "aws_dynamodb_table").update(billing_mode="PROVISIONED"),
        SPEC,
    ),
    "terraform output dropped": ("outputs", lambda tf: tf.outputs.pop("ledger_table"), SPEC),
    "terraform hot window default": ("variables", lambda tf: tf.variables["readings_ttl_days"].update(default=7), SPEC),
    "terraform readings kept forever": (
        "tables",
        lambda tf: block(_resource(tf, "readings_table", "aws_dynamodb_table"), "ttl").update(enabled=True),
        SPEC,
    ),
    "terraform prefix": ("bucket", lambda tf: tf.locals.update(raw_prefix="incoming/"), SPEC),
    "terraform data bucket left out of the shared settings": (
        "bucket",
        lambda tf: tf.locals["buckets"].pop("data"),
        SPEC,
    ),
    "terraform TLS deny dropped": (
        "bucket",
        lambda tf: tf.data[("aws_iam_policy_document", "bucket")]["statement"].clear(),
        SPEC,
    ),
    "spec memory": ("function", None, replace(SPEC, function=replace(FUNCTION, memory_mb=512))),
    "spec ephemeral storage": ("function", None, replace(SPEC, function=replace(FUNCTION, ephemeral_storage_mb=512))),
    "spec record limit": ("function", None, replace(SPEC, settings=replace(Settings(), max_record_bytes=4096))),
    "terraform depth limit": ("function", lambda tf: tf.variables["max_depth"].update(default=64), SPEC),
    "spec checkpoint expiry": ("bucket", None, replace(SPEC, bucket=replace(BUCKET, checkpoint_expiry_days=9))),
    "spec env setting": (
        "function",
        None,
        replace(
            SPEC, function=replace(FUNCTION, environment_settings=(*FUNCTION.environment_settings, "alerts_queue"))
        ),
    ),
    "spec max receive count": ("queues", None, replace(SPEC, settings=replace(Settings(), max_receive_count=3))),
    "spec log retention": ("function", None, replace(SPEC, settings=replace(Settings(), log_retention_days=7))),
    "spec alerts retention": ("alerts", None, replace(SPEC, queue=replace(QUEUE, alerts_retention_s=3600))),
    "spec visibility timeout": ("queues", None, replace(SPEC, queue=replace(QUEUE, visibility_timeout_s=360))),
    "spec lifecycle": ("bucket", None, replace(SPEC, bucket=replace(BUCKET, quarantine_expiry_days=7))),
    "spec output": ("outputs", None, replace(SPEC, outputs=(*SPEC.outputs, "reports_bucket"))),
    "terraform schedule": (
        "lake",
        lambda tf: tf.resources[("aws_cloudwatch_event_rule", "compaction")].update(schedule_expression="rate(1 hour)"),
        SPEC,
    ),
    "terraform Glue columns": ("lake", lambda tf: tf.locals["lake_columns"].pop(), SPEC),
    "spec projection range": ("lake", None, replace(SPEC, lake=replace(LAKE, projection_range="2020-01-01,NOW"))),
    "spec bytes scanned limit": ("lake", None, replace(SPEC, lake=replace(LAKE, bytes_scanned_cutoff=10**8))),
    "spec compaction memory": ("lake", None, replace(SPEC, compaction=replace(COMPACTION, memory_mb=512))),
    "spec lake versions": ("bucket", None, replace(SPEC, lake=replace(LAKE, noncurrent_expiry_days=3))),
    "terraform stream off": (
        "tables",
        lambda tf: _resource(tf, "readings_table", "aws_dynamodb_table").update(stream_enabled=False),
        SPEC,
    ),
    "terraform stream bisect off": (
        "aggregator",
        lambda tf: _stream_mapping(tf).update(bisect_batch_on_function_error=False),
        SPEC,
    ),
    "terraform stream destination dropped": (
        "aggregator",
        lambda tf: _stream_mapping(tf).pop("destination_config"),
        SPEC,
    ),
    "terraform ingest role gets transactions back": ("aggregator", _grant_transactions, SPEC),
    "terraform iterator age alarm dropped": (
        "aggregator",
        lambda tf: tf.locals["metric_alarms"].pop("rollups-iterator-age"),
        SPEC,
    ),
    "terraform aggregator writes anywhere in the bucket": (
        "aggregator",
        lambda tf: tf.data[("aws_iam_policy_document", "aggregator_lake")]["statement"][0].update(
            resources=["${aws_s3_bucket.data.arn}/*"]
        ),
        SPEC,
    ),
    "terraform aggregator reads the lake": (
        "aggregator",
        lambda tf: tf.data[("aws_iam_policy_document", "aggregator_lake")]["statement"][0]["actions"].append(
            "s3:GetObject"
        ),
        SPEC,
    ),
    "spec aggregator without the lake prefix": (
        "aggregator",
        None,
        replace(SPEC, aggregator=replace(AGGREGATOR, environment_settings=AGGREGATOR.environment_settings[:-1])),
    ),
    "terraform report runner writes anywhere in the bucket": (
        "report runner",
        lambda tf: tf.data[("aws_iam_policy_document", "report_runner")]["statement"][1].update(
            resources=["${aws_s3_bucket.data.arn}/*"]
        ),
        SPEC,
    ),
    "terraform report runner deletes": (
        "report runner",
        lambda tf: tf.data[("aws_iam_policy_document", "report_runner")]["statement"][1]["actions"].append(
            "s3:DeleteObject"
        ),
        SPEC,
    ),
    "spec reports prefix": (
        "report runner",
        None,
        replace(SPEC, settings=replace(Settings(), reports_prefix="runs/")),
    ),
    "spec stream batch size": ("aggregator", None, replace(SPEC, aggregator=replace(AGGREGATOR, batch_size=100))),
    "spec parallelization": (
        "aggregator",
        None,
        replace(SPEC, aggregator=replace(AGGREGATOR, parallelization_factor=2)),
    ),
}


@pytest.mark.parametrize("case", list(MUTATIONS))
def test_a_change_on_one_side_fails_the_comparison(tf: Terraform, case: str) -> None:
    # GIVEN terraform/ and the spec agree
    area, mutate, spec = MUTATIONS[case]
    assert CHECKS[area](tf, SPEC) == []
    # WHEN one side changes
    changed = copy.deepcopy(tf)
    if mutate is not None:
        mutate(changed)
    # THEN the comparison reports it
    assert CHECKS[area](changed, spec) != []
