"""The configuration a resource must have, derived from the settings and the shared spec: the provisioner creates
resources with it (:mod:`energy_lib.workbook.local.provisioner`) and the checks compare what is deployed with it
(:mod:`energy_lib.workbook.aws.checks`), on either target."""

from __future__ import annotations

from typing import Any

from energy_lib import lake
from energy_lib.config import Settings, env_names
from energy_lib.schema import Table
from energy_lib.workbook.infra.spec import FUNCTION, LAKE, TABLE

__all__ = ["function_environment", "glue_table_input", "time_to_live", "workgroup_configuration"]

PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"


def function_environment(settings: Settings, names: tuple[str, ...] = FUNCTION.environment_settings) -> dict[str, str]:
    """The ENERGY_* variables a deployed function gets (the ingest function's by default)."""
    values = settings.environment()
    env = env_names()
    return {env[name]: values.get(env[name], str(getattr(settings, name))) for name in names}


def time_to_live(settings: Settings, table: Table) -> str:
    """The attribute the table's time to live reads, "" when it has none: the tables of the hot window have one
    only while ``readings_ttl_days`` is not 0."""
    if table.setting in TABLE.hot_window_tables and not settings.readings_ttl_days:
        return ""
    return table.ttl_attribute


def glue_table_input(settings: Settings) -> dict[str, Any]:
    """The Glue table over ``lake/readings/``: Parquet, partitioned by ``day`` with partition projection."""
    location = f"s3://{settings.bucket}/{lake.readings_prefix(settings)}"
    day = LAKE.partition[0]
    return {
        "Name": LAKE.table,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {
            "classification": "parquet",
            "EXTERNAL": "TRUE",
            "projection.enabled": "true",
            f"projection.{day}.type": "date",
            f"projection.{day}.format": LAKE.projection_format,
            f"projection.{day}.range": LAKE.projection_range,
            f"projection.{day}.interval": "1",
            f"projection.{day}.interval.unit": "DAYS",
            "storage.location.template": f"{location}{day}=${{{day}}}/",
        },
        "PartitionKeys": [{"Name": LAKE.partition[0], "Type": LAKE.partition[1]}],
        "StorageDescriptor": {
            "Columns": [{"Name": name, "Type": kind} for name, kind in LAKE.columns],
            "Location": location,
            "InputFormat": PARQUET_INPUT,
            "OutputFormat": PARQUET_OUTPUT,
            "SerdeInfo": {"SerializationLibrary": PARQUET_SERDE},
        },
    }


def workgroup_configuration(settings: Settings) -> dict[str, Any]:
    """The Athena workgroup: results encrypted under ``athena-results/``, a bytes-scanned limit, enforced."""
    return {
        "ResultConfiguration": {
            "OutputLocation": f"s3://{settings.bucket}/{LAKE.results_prefix}",
            "EncryptionConfiguration": {"EncryptionOption": LAKE.results_encryption},
        },
        "EnforceWorkGroupConfiguration": True,
        "PublishCloudWatchMetricsEnabled": True,
        "BytesScannedCutoffPerQuery": LAKE.bytes_scanned_cutoff,
        "EngineVersion": {"SelectedEngineVersion": LAKE.engine_version},
    }
