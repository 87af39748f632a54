"""What the pipeline costs on AWS per month, from the counts measured on the local stack and AWS's public
on-demand prices, beside the reference design of the projects this one replaces.

The fleet: 1,000 sites, one reading each every 5 minutes (8,640,000 readings in 30 days), an hourly business
report (the 04 notebook: a day's summary and its 24 hourly rollups), 100 explorer queries a day (one site's
day of readings). Per file shape, as files reach the pipeline one by one ("real time"): one file per reading,
one per site and hour, or one snapshot of the fleet every 5 minutes.

- Ours: readings written with BatchWriteItem (the measured write units of the readings table, its day index
  and anomaly indexes, the ledger and the rollups), the aggregator's reads, rollups for the report.
- Reference: one PutItem per reading into a table with a timestamp index projecting every attribute, the
  report by a Scan of the readings table (it reads the whole table, so its cost grows with what is stored).

Both pay the same for S3 uploads and reads, SQS and one ingest invocation per file. Lambda time is modelled as
50 ms plus 10 ms per AWS request (in-region DynamoDB, S3 and SNS latencies) at the functions' 256 MB, the same
rule for both. Free tiers are left out. Printed; what follows from the measured counts is asserted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest

from energy_lib.config import Settings
from tests.benchmarks.shapes import Measured

pytestmark = pytest.mark.benchmark

# Public on-demand prices, US East (N. Virginia), in USD, as published on 2025-06-01 (the DynamoDB ones after
# the price cut of 2024-11-01). Sources: aws.amazon.com/dynamodb/pricing/on-demand/,
# aws.amazon.com/lambda/pricing/, aws.amazon.com/s3/pricing/, aws.amazon.com/sqs/pricing/.
PRICES_AS_OF = "2025-06-01"
DYNAMODB_WRITE_PER_MILLION = 0.625
DYNAMODB_READ_PER_MILLION = 0.125
DYNAMODB_STORAGE_PER_GB_MONTH = 0.25
LAMBDA_PER_MILLION_REQUESTS = 0.20
LAMBDA_PER_GB_SECOND = 0.0000166667
S3_PUT_PER_THOUSAND = 0.005
S3_GET_PER_THOUSAND = 0.0004
S3_STORAGE_PER_GB_MONTH = 0.023
SQS_PER_MILLION_REQUESTS = 0.40  # standard queue; DynamoDB Streams reads by Lambda are free

SITES = 1000
READINGS_PER_MONTH = SITES * 12 * 24 * 30
REPORTS_PER_MONTH = 24 * 30
EXPLORER_QUERIES_PER_MONTH = 100 * 30
LAMBDA_GB = 0.25
BASE_MS, MS_PER_REQUEST = 50, 10
INDEX_OVERHEAD_BYTES = 100  # DynamoDB stores 100 bytes more per item and per index entry
RAW_BYTES_PER_READING = 110  # a reading in a JSON file
SQS_REQUESTS_PER_FILE = 3  # S3 sends it, Lambda's poller receives it and deletes it
STREAM_WINDOW_S = 10  # the aggregator's batching window: one invocation per window when readings trickle in
FILES_PER_MONTH = {
    "one reading per file": READINGS_PER_MONTH,
    "one site's hour": SITES * 24 * 30,
    "fleet snapshot": 12 * 24 * 30,
}


@dataclass
class Bill:
    dynamodb_writes: float = 0.0
    dynamodb_reads: float = 0.0
    dynamodb_storage: float = 0.0
    lambda_: float = 0.0
    s3_sqs: float = 0.0

    @property
    def total(self) -> float:
        return self.dynamodb_writes + self.dynamodb_reads + self.dynamodb_storage + self.lambda_ + self.s3_sqs


def lambda_cost(invocations: float, requests: float) -> float:
    seconds = (invocations * BASE_MS + requests * MS_PER_REQUEST) / 1000
    return invocations * LAMBDA_PER_MILLION_REQUESTS / 1e6 + seconds * LAMBDA_GB * LAMBDA_PER_GB_SECOND


def read_units(items: float, item_bytes: float) -> float:
    """Eventually consistent Query or Scan: 0.5 RRU per 4 KB read."""
    return math.ceil(items * item_bytes / 4096) * 0.5


def shared(files: int) -> float:
    """S3 upload and read of each file, its SQS traffic, its raw bytes kept for a month: the same for both."""
    s3 = files * (S3_PUT_PER_THOUSAND + S3_GET_PER_THOUSAND) / 1000
    storage = READINGS_PER_MONTH * RAW_BYTES_PER_READING / 1e9 * S3_STORAGE_PER_GB_MONTH
    return s3 + storage + files * SQS_REQUESTS_PER_FILE * SQS_PER_MILLION_REQUESTS / 1e6


def ours(result: Measured, settings: Settings, months_stored: int) -> Bill:
    per_reading = READINGS_PER_MONTH / result.readings
    files = FILES_PER_MONTH[result.shape]
    bill = Bill()
    bill.dynamodb_writes = sum(result.wru.values()) * per_reading * DYNAMODB_WRITE_PER_MILLION / 1e6
    reading_bytes = result.item_bytes[settings.readings_table]
    rollup_bytes = result.item_bytes[settings.rollups_table]
    report = read_units(SITES * 25, rollup_bytes)  # a day's summary and its 24 hours, sites x periods
    explorer = read_units(288, reading_bytes)  # one site's day
    aggregator_reads = sum(result.rru.values()) * per_reading  # the aggregator reads its rollups, consistent
    reads = report * REPORTS_PER_MONTH + explorer * EXPLORER_QUERIES_PER_MONTH + aggregator_reads
    bill.dynamodb_reads = reads * DYNAMODB_READ_PER_MILLION / 1e6
    stored = READINGS_PER_MONTH * months_stored
    readings_gb = stored * (reading_bytes + INDEX_OVERHEAD_BYTES) * 2 / 1e9  # the table and its day index
    rollups_gb = SITES * 24 * 30 * months_stored * (rollup_bytes + INDEX_OVERHEAD_BYTES) / 1e9
    bill.dynamodb_storage = (readings_gb + rollups_gb) * DYNAMODB_STORAGE_PER_GB_MONTH
    ingest_requests = sum(result.ingest_requests.values()) * per_reading + files  # + GetObject each
    aggregator_invocations = 30 * 24 * 3600 / STREAM_WINDOW_S
    aggregator_requests = sum(result.aggregator_requests.values()) * per_reading
    bill.lambda_ = lambda_cost(files, ingest_requests) + lambda_cost(aggregator_invocations, aggregator_requests)
    bill.s3_sqs = shared(files)
    return bill


def reference(result: Measured, settings: Settings, months_stored: int) -> Bill:
    files = FILES_PER_MONTH[result.shape]
    reading_bytes = result.item_bytes[settings.readings_table]
    bill = Bill()
    bill.dynamodb_writes = READINGS_PER_MONTH * 2 * DYNAMODB_WRITE_PER_MILLION / 1e6  # table + timestamp index
    stored = READINGS_PER_MONTH * months_stored
    scan = read_units(stored, reading_bytes)  # each report reads the whole table
    explorer = read_units(288, reading_bytes) * 2  # the site's day, then its anomalies by a filter on it
    reads = scan * REPORTS_PER_MONTH + explorer * EXPLORER_QUERIES_PER_MONTH
    bill.dynamodb_reads = reads * DYNAMODB_READ_PER_MILLION / 1e6
    bill.dynamodb_storage = stored * (reading_bytes + INDEX_OVERHEAD_BYTES) * 2 / 1e9 * DYNAMODB_STORAGE_PER_GB_MONTH
    bill.lambda_ = lambda_cost(files, files + READINGS_PER_MONTH)  # GetObject and one PutItem per reading
    bill.s3_sqs = shared(files)
    return bill


def floor(result: Measured, settings: Settings, months_stored: int) -> float:
    """The least any design that keeps each reading as a DynamoDB item (1 write unit, no index) and each file as
    an S3 object and an SQS message costs: the shared S3 and SQS bill, those writes and that storage."""
    reading_bytes = result.item_bytes[settings.readings_table]
    writes = READINGS_PER_MONTH * DYNAMODB_WRITE_PER_MILLION / 1e6
    stored = READINGS_PER_MONTH * months_stored * (reading_bytes + INDEX_OVERHEAD_BYTES) / 1e9
    return shared(FILES_PER_MONTH[result.shape]) + writes + stored * DYNAMODB_STORAGE_PER_GB_MONTH


def test_monthly_cost_against_the_reference_design(measured: dict[tuple[str, str], Measured]) -> None:
    settings = Settings()
    lines = [
        "",
        f"Monthly AWS cost [USD]: {SITES:,} sites x 1 reading / 5 min ({READINGS_PER_MONTH:,} readings), hourly "
        f"report, 100 explorer queries a day; on-demand prices of {PRICES_AS_OF}, us-east-1",
        f"{'shape':<22}{'stored':>8}  {'design':<10}{'writes':>9}{'reads':>9}{'storage':>9}{'lambda':>9}"
        f"{'s3+sqs':>9}{'total':>10}{'ratio':>8}{'floor':>8}",
    ]
    ratios = {}
    for shape in FILES_PER_MONTH:
        result = measured[(shape, "real time")]
        for months in (1, 3, 12):
            bills = {"ours": ours(result, settings, months), "reference": reference(result, settings, months)}
            ratio = bills["ours"].total / bills["reference"].total
            least = floor(result, settings, months) / bills["reference"].total
            ratios[(shape, months)] = ratio
            for design, bill in bills.items():
                lines.append(
                    f"{shape:<22}{months:>6} m  {design:<10}{bill.dynamodb_writes:>9.2f}{bill.dynamodb_reads:>9.2f}"
                    f"{bill.dynamodb_storage:>9.2f}{bill.lambda_:>9.2f}{bill.s3_sqs:>9.2f}{bill.total:>10.2f}"
                    + (f"{ratio:>8.2f}{least:>8.2f}" if design == "ours" else "")
                )
    lines.append("target: ours at most 1/5 of the reference (ratio <= 0.20)")
    lines.append("floor: the ratio of the least any design with an item per reading and an object per file costs")
    print("\n".join(lines))

    for shape in FILES_PER_MONTH:
        result = measured[(shape, "real time")]
        # the reference's report reads the whole table every hour: its cost grows with what is stored; ours not
        assert reference(result, settings, 12).dynamodb_reads > 10 * reference(result, settings, 1).dynamodb_reads
        assert ours(result, settings, 12).dynamodb_reads == ours(result, settings, 1).dynamodb_reads
        # ours writes more per reading (rollups, day index, ledger): never less than the reference's 2 units
        assert ours(result, settings, 1).dynamodb_writes >= reference(result, settings, 1).dynamodb_writes
    # with a year of readings stored, the snapshot and the hourly files cost at most a fifth
    assert ratios[("fleet snapshot", 12)] <= 0.2 and ratios[("one site's hour", 12)] <= 0.2
    # a file per reading: the S3 and SQS bill of its files and the readings' own writes and storage are already
    # more than a fifth of the reference, whatever is stored; no design of this kind reaches the target there
    for months in (1, 3, 12):
        result = measured[("one reading per file", "real time")]
        assert floor(result, settings, months) > 0.2 * reference(result, settings, months).total
