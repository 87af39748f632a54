"""The monthly AWS bill of the pipeline, from the counts measured on the local stack (:mod:`tests.benchmarks.shapes`)
and AWS's public on-demand prices, beside the reference design it replaces and the floor of any design.

The fleet: 1,000 sites, one reading each every 5 minutes (8,640,000 readings in 30 days), the reports of
``schedule.toml`` (the business report daily and weekly, site freshness hourly, site health daily, operations and
provisioning checks hourly) and 100 explorer queries a day (one site's day of readings). Per file shape, as files
reach the pipeline one by one: one file per reading, one per site and hour, or one snapshot of the fleet every
5 minutes. Free tiers are left out, and so are CloudWatch logs and alarms (the same for every design).

- **Ours**: the measured write units of every table and index (readings, the anomaly indexes, the ledger, the
  rollups), the measured reads (the ledger entry read before each claim, the aggregator's rollups), the reads of
  the schedule's reports and the explorer; storage of the hot window (``Settings.readings_ttl_days`` and two days
  more, while the time to live gets round to it), of the ledger (:func:`energy_lib.ledger.keep_days`) and of the
  rollups (kept for good), and point-in-time recovery on all of it; the three functions; the lake (change-object
  PUTs, one per stream batch; compaction every 5 minutes: its requests and its pyarrow time; the Parquet files;
  their noncurrent versions kept a day); Athena for whatever the schedule reads past the hot window (nothing).
- **Reference, as measured before**: one PutItem per reading into a table with a timestamp index projecting
  every attribute, an hourly report by a Scan of the whole table (it reads everything stored, every hour).
- **Reference, under the schedule**: the same design running ``schedule.toml``'s business reports (a Scan per
  run: daily and weekly), without the index it never uses.
- **Floor**: the least any design that keeps each reading as a DynamoDB item (1 write unit, no index, kept for the
  months stored) and each file as an S3 object and an SQS message costs. **Hot floor**: the same, keeping items
  only for the hot window and history as Parquet.

Lambda time is modelled as 50 ms per invocation plus 10 ms per AWS request (in-region latencies), at each
function's configured memory, the same rule for every design; the ingest mapping hands a function up to 10
messages in its 5-second batching window (ours reads small files of a batch side by side: an invocation lasts as
long as its longest file), the stream mapping a batch per 10-second window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from energy_lib.aggregator import PARALLEL_SITES
from energy_lib.config import Settings
from energy_lib.ledger import keep_days
from energy_lib.pipeline import SMALL_OBJECT_BYTES
from energy_lib.workbook.infra.spec import AGGREGATOR, COMPACTION, FUNCTION
from energy_lib.workbook.reports.schedule import ScheduleEntry, load_schedule
from tests.benchmarks.shapes import Measured

# Public on-demand prices, US East (N. Virginia), in USD, as published on 2025-06-01 (the DynamoDB ones after the
# price cut of 2024-11-01). Sources: aws.amazon.com/dynamodb/pricing/on-demand/ (continuous backups: point-in-time
# recovery), aws.amazon.com/lambda/pricing/, aws.amazon.com/s3/pricing/, aws.amazon.com/sqs/pricing/,
# aws.amazon.com/athena/pricing/.
PRICES_AS_OF = "2025-06-01"
DYNAMODB_WRITE_PER_MILLION = 0.625
DYNAMODB_READ_PER_MILLION = 0.125
DYNAMODB_STORAGE_PER_GB_MONTH = 0.25
DYNAMODB_PITR_PER_GB_MONTH = 0.20
LAMBDA_PER_MILLION_REQUESTS = 0.20
LAMBDA_PER_GB_SECOND = 0.0000166667
S3_PUT_PER_THOUSAND = 0.005  # PUT, COPY, POST, LIST
S3_GET_PER_THOUSAND = 0.0004
S3_STORAGE_PER_GB_MONTH = 0.023
SQS_PER_MILLION_REQUESTS = 0.40  # standard queue; DynamoDB Streams reads by Lambda are free
ATHENA_PER_TB = 5.0

SITES = 1000
DAYS = 30
MONTH_S = DAYS * 24 * 3600
READINGS_PER_DAY = SITES * 12 * 24
READINGS_PER_MONTH = READINGS_PER_DAY * DAYS
EXPLORER_QUERIES_PER_MONTH = 100 * DAYS
BASE_MS, MS_PER_REQUEST = 50, 10
INDEX_OVERHEAD_BYTES = 100  # DynamoDB stores 100 bytes more per item and per index entry
RAW_BYTES_PER_READING = 110  # a reading in a JSON file
SQS_REQUESTS_PER_FILE = 3  # S3 sends it, Lambda's poller receives it and deletes it
EXPIRY_LAG_DAYS = 2  # the time to live deletes an expired item within days (AWS); modelled as two
ROLLUP_ITEMS_PER_SITE_MONTH = 24 * DAYS + DAYS  # hour and day items (and one all-time item per site)
LEDGER_ITEMS_PER_FILE = 2  # its entry and its key's head
SCHEDULE = Path(__file__).resolve().parents[2] / "schedule.toml"
RUNS_PER_MONTH = {"hourly": 24 * DAYS, "daily": DAYS, "weekly": DAYS / 7}
FILES_PER_MONTH = {
    "one reading per file": READINGS_PER_MONTH,
    "one site's hour": SITES * 24 * DAYS,
    "fleet snapshot": 12 * 24 * DAYS,
}
MONTHS = (1, 3, 12)


@dataclass
class Bill:
    """A month's bill, line by line [USD]."""

    lines: dict[str, float] = field(default_factory=dict)

    def add(self, line: str, usd: float) -> None:
        self.lines[line] = self.lines.get(line, 0.0) + usd

    @property
    def total(self) -> float:
        return sum(self.lines.values())


def read_units(items: float, item_bytes: float, consistent: bool = False) -> float:
    """A Query or Scan: 0.5 read unit per started 4 KB (1 strongly consistent)."""
    return math.ceil(items * item_bytes / 4096) * (1.0 if consistent else 0.5)


def lambda_usd(invocations: float, seconds: float, memory_mb: int) -> float:
    return invocations * LAMBDA_PER_MILLION_REQUESTS / 1e6 + seconds * memory_mb / 1024 * LAMBDA_PER_GB_SECOND


def ingest_invocations(files: float) -> float:
    """The ingest mapping's invocations: up to ``batch_size`` messages, gathered for ``batching_window_s``."""
    per_invocation = max(1.0, min(FUNCTION.batch_size, files / MONTH_S * FUNCTION.batching_window_s))
    return files / per_invocation


def shared(files: int, months: int) -> Bill:
    """What every design pays for its files: S3 upload and read, SQS, the raw bytes kept for the months stored."""
    bill = Bill()
    bill.add("s3 + sqs (files)", files * (S3_PUT_PER_THOUSAND + S3_GET_PER_THOUSAND) / 1000)
    bill.add("s3 + sqs (files)", files * SQS_REQUESTS_PER_FILE * SQS_PER_MILLION_REQUESTS / 1e6)
    raw_gb = READINGS_PER_MONTH * months * RAW_BYTES_PER_READING / 1e9
    bill.add("s3 + sqs (files)", raw_gb * S3_STORAGE_PER_GB_MONTH)
    return bill


def scheduled(notebook: str) -> list[tuple[ScheduleEntry, float]]:
    """The entries of ``notebook`` in ``schedule.toml``, each with its runs a month."""
    return [(entry, RUNS_PER_MONTH[entry.every]) for entry in load_schedule(SCHEDULE) if entry.notebook == notebook]


def schedule_read_units(reading_bytes: float, rollup_bytes: float) -> float:
    """Read units a month of the schedule's reports and the explorer: sites x periods of rollups, never a scan;
    the site-health day's readings by one Query per site (inside the hot window)."""
    units = 0.0
    for entry, runs in scheduled("04-report-business"):  # the period's summary (days) and its hours
        days = {"daily": 1, "weekly": 7}[entry.every]
        units += runs * read_units(SITES * (days + 24 * days), rollup_bytes)
    for entry, runs in scheduled("06-assess-site-health"):
        checks = str(entry.parameters.get("checks", ""))
        if "freshness" in checks:
            units += runs * read_units(2 * SITES, rollup_bytes)  # the registry and the all-time rollups
        if "quality" in checks:
            units += runs * SITES * read_units(READINGS_PER_DAY / SITES, reading_bytes)  # a Query per site
        if "performance" in checks:
            units += runs * read_units(15 * SITES, rollup_bytes)  # the day's and 14 days' daily rollups
    units += sum(runs for _, runs in scheduled("05-operate-pipeline")) * 0.5  # the ledger's problems: none
    return units + EXPLORER_QUERIES_PER_MONTH * read_units(READINGS_PER_DAY / SITES, reading_bytes)


def ours(result: Measured, settings: Settings, months: int) -> Bill:
    per_reading = READINGS_PER_MONTH / result.readings
    files = FILES_PER_MONTH[result.shape]
    bill = shared(files, months)
    bill.add("dynamodb writes", sum(result.wru.values()) * per_reading * DYNAMODB_WRITE_PER_MILLION / 1e6)
    reading_bytes = result.item_bytes[settings.readings_table]
    rollup_bytes = result.item_bytes[settings.rollups_table]
    measured_reads = sum(result.rru.values()) * per_reading  # ledger entries, the aggregator's rollups
    reads = measured_reads + schedule_read_units(reading_bytes, rollup_bytes)
    bill.add("dynamodb reads", reads * DYNAMODB_READ_PER_MILLION / 1e6)

    hot_days = min(months * DAYS, settings.readings_ttl_days + EXPIRY_LAG_DAYS if settings.readings_ttl_days else 1e9)
    anomaly_share = result.anomalies / result.readings  # each anomaly is in two sparse indexes
    per_item = reading_bytes + INDEX_OVERHEAD_BYTES
    readings_gb = READINGS_PER_DAY * hot_days * per_item * (1 + 2 * anomaly_share) / 1e9
    rollups_gb = (SITES * ROLLUP_ITEMS_PER_SITE_MONTH * months + SITES) * (rollup_bytes + INDEX_OVERHEAD_BYTES) / 1e9
    kept = keep_days(settings.readings_ttl_days)
    ledger_days = min(months * DAYS, kept + EXPIRY_LAG_DAYS) if kept else months * DAYS
    ledger_bytes = result.item_bytes[settings.ledger_table] + INDEX_OVERHEAD_BYTES
    ledger_gb = files / DAYS * ledger_days * LEDGER_ITEMS_PER_FILE * ledger_bytes / 1e9
    table_gb = readings_gb + rollups_gb + ledger_gb
    bill.add("dynamodb storage", table_gb * DYNAMODB_STORAGE_PER_GB_MONTH)
    bill.add("point-in-time recovery", table_gb * DYNAMODB_PITR_PER_GB_MONTH)

    # the ingest function: the measured requests of each file; small files of a batch side by side (the longest
    # one's requests), larger ones one after the other
    ingest_requests = sum(result.ingest_requests.values()) * per_reading
    invocations = ingest_invocations(files)
    if READINGS_PER_MONTH / files * RAW_BYTES_PER_READING <= SMALL_OBJECT_BYTES:
        seconds = invocations * (BASE_MS + ingest_requests / files * MS_PER_REQUEST) / 1000
    else:
        seconds = (invocations * BASE_MS + ingest_requests * MS_PER_REQUEST) / 1000
    bill.add("lambda", lambda_usd(invocations, seconds, FUNCTION.memory_mb))
    # the rollups function: a batch per batching window while files trickle in, and a window's final invocation
    batches = min(files, MONTH_S / AGGREGATOR.batching_window_s)
    finals = MONTH_S / AGGREGATOR.tumbling_window_s
    table_requests = sum(n for op, n in result.aggregator_requests.items() if op != "PutObject") * per_reading
    in_parallel = table_requests / PARALLEL_SITES  # the rollups of 8 sites are written at once
    seconds = ((batches + finals) * BASE_MS + (in_parallel + batches) * MS_PER_REQUEST) / 1000
    bill.add("lambda", lambda_usd(batches + finals, seconds, AGGREGATOR.memory_mb))
    # the lake: a change object per batch; compaction every 5 minutes folds them into the growing day file
    runs = MONTH_S / COMPACTION.period_s
    compaction_requests = runs * 4 + batches  # LIST, GET and PUT of the day file, DeleteObjects; a GET per object
    rows_per_run = READINGS_PER_DAY / 2  # the day file grows over the day
    seconds = (runs * BASE_MS + compaction_requests * MS_PER_REQUEST) / 1000 + runs * result.fold_cpu_s
    bill.add("lambda", lambda_usd(runs, seconds, COMPACTION.memory_mb))
    bill.add(
        "lake (s3)", (batches + runs * 2) * S3_PUT_PER_THOUSAND / 1000 + (batches + runs) * S3_GET_PER_THOUSAND / 1000
    )
    lake_bytes_per_reading = result.lake_bytes / max(result.lake_rows, 1)
    lake_gb = READINGS_PER_MONTH * months * lake_bytes_per_reading / 1e9
    noncurrent_gb = runs / DAYS * rows_per_run * lake_bytes_per_reading / 1e9  # each rewrite's old version, a day
    bill.add("lake (s3)", (lake_gb + noncurrent_gb) * S3_STORAGE_PER_GB_MONTH)
    bill.add("athena", 0.0)  # no scheduled report reads past the hot window
    return bill


def reference(result: Measured, settings: Settings, months: int, schedule: bool = False) -> Bill:
    """The reference design: as measured before (an hourly Scan, a timestamp index), or under the schedule's own
    business reports (a Scan per run) without the index."""
    files = FILES_PER_MONTH[result.shape]
    reading_bytes = result.item_bytes[settings.readings_table]
    copies = 1 if schedule else 2  # the table, and its timestamp index projecting every attribute
    scans = sum(runs for _, runs in scheduled("04-report-business")) if schedule else RUNS_PER_MONTH["hourly"]
    bill = shared(files, months)
    bill.add("dynamodb writes", READINGS_PER_MONTH * copies * DYNAMODB_WRITE_PER_MILLION / 1e6)
    stored = READINGS_PER_MONTH * months
    explorer = read_units(READINGS_PER_DAY / SITES, reading_bytes) * 2  # the site's day, then its anomalies
    reads = read_units(stored, reading_bytes) * scans + explorer * EXPLORER_QUERIES_PER_MONTH
    bill.add("dynamodb reads", reads * DYNAMODB_READ_PER_MILLION / 1e6)
    gb = stored * (reading_bytes + INDEX_OVERHEAD_BYTES) * copies / 1e9
    bill.add("dynamodb storage", gb * DYNAMODB_STORAGE_PER_GB_MONTH)
    invocations = ingest_invocations(files)
    seconds = (invocations * BASE_MS + (files + READINGS_PER_MONTH) * MS_PER_REQUEST) / 1000  # GetObject, PutItems
    bill.add("lambda", lambda_usd(invocations, seconds, FUNCTION.memory_mb))
    return bill


def floor(result: Measured, settings: Settings, months: int, hot: bool = False) -> float:
    """The least any design that keeps each reading as a DynamoDB item (1 write unit, no index) and each file as
    an S3 object and an SQS message costs: those writes, that storage and the files' bill. ``hot``: items kept for
    the hot window only, history as Parquet (at the lake's measured bytes per reading)."""
    per_item = result.item_bytes[settings.readings_table] + INDEX_OVERHEAD_BYTES
    days = months * DAYS
    if hot:
        days = min(days, settings.readings_ttl_days + EXPIRY_LAG_DAYS)
    stored_gb = READINGS_PER_DAY * days * per_item / 1e9
    lake_gb = READINGS_PER_MONTH * months * result.lake_bytes / max(result.lake_rows, 1) / 1e9 if hot else 0.0
    writes = READINGS_PER_MONTH * DYNAMODB_WRITE_PER_MILLION / 1e6
    storage = stored_gb * DYNAMODB_STORAGE_PER_GB_MONTH + lake_gb * S3_STORAGE_PER_GB_MONTH
    return shared(FILES_PER_MONTH[result.shape], months).total + writes + storage


def design_minimum(result: Measured, settings: Settings, months: int) -> float:
    """The hot floor (readings kept for the window, history as Parquet) plus what the design's contracts cost
    whatever else is done: the rollups' writes (one per rollup
    item and window), the sparse anomaly indexes' and the ledger's (a claim and an outcome per file, the least
    that keeps versions and leases exact), as measured, and point-in-time recovery of the hot window's readings
    (every table has it)."""
    per_reading = READINGS_PER_MONTH / result.readings
    contracted = [name for name in result.wru if name != settings.readings_table]
    writes = sum(result.wru[name] for name in contracted) * per_reading * DYNAMODB_WRITE_PER_MILLION / 1e6
    days = min(months * DAYS, settings.readings_ttl_days + EXPIRY_LAG_DAYS)
    per_item = result.item_bytes[settings.readings_table] + INDEX_OVERHEAD_BYTES
    backups = READINGS_PER_DAY * days * per_item / 1e9 * DYNAMODB_PITR_PER_GB_MONTH
    return floor(result, settings, months, hot=True) + writes + backups
