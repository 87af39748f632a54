"""A fleet simulated over many days through the real pipeline, in a process of its own that holds what the local
stack's process holds: moto's server (with :mod:`energy_lib.workbook.local.moto_gaps`), the two mappings over the
real entry points, the lake's compaction, and the time to live. Each simulated day: the fleet's files (one per
site, gzip JSON), the pipeline drained and the lake folded, then the time to live run at the day's end and the
stream records handed over forgotten. Prints one JSON object: per day the readings the table holds, the process's
resident memory and its high-water mark; at the end the lake and the rollups compared over every day.

Readings are dated from tomorrow on (their time is later than when they are stored), so each expires a hot window
after its own time, whatever the wall clock: the simulated day's end is the time to live's "now".

    python -m tests.benchmarks.hot_window --sites 100 --days 60 --interval-minutes 5 --ttl-days 35
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import tempfile
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from moto.server import ThreadedMotoServer

from energy_lib import query, rollups
from energy_lib.clients import client
from energy_lib.config import LOCAL_ACCOUNT_ID, Settings
from energy_lib.workbook import simulator
from energy_lib.workbook.lake import engines, queries
from energy_lib.workbook.local import moto_gaps
from energy_lib.workbook.local.provisioner import provision
from tests.conftest import free_port
from tests.integration.harness import Pipeline, settle

ONE_DAY = timedelta(days=1)


def memory_mb() -> dict[str, float]:
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return {name: int(status[field].split()[0]) / 1024 for name, field in (("rss_mb", "VmRSS"), ("hwm_mb", "VmHWM"))}


def held_readings(settings: Settings) -> int:
    """Items the readings table holds (moto's own count, in this process)."""
    from moto.dynamodb.models import dynamodb_backends

    table = dynamodb_backends[LOCAL_ACCOUNT_ID][settings.region].get_table(settings.readings_table)
    return sum(len(items) for items in table.items.values())


def forget_handed_over(pipeline: Pipeline) -> None:
    """Let moto drop every stream record the mapping has handed over (the stack does after ten minutes)."""
    through = [int(sequence) for sequence in pipeline.stream.checkpoints.values()]
    if through:
        later = datetime.now(timezone.utc) + timedelta(seconds=1)
        moto_gaps.forget_stream_state(pipeline.settings.region, pipeline.settings.readings_table, min(through), later)


def compare(settings: Settings, start: datetime, end: datetime, sent: dict[str, Any]) -> dict[str, Any]:
    """The lake and the rollups over ``[start, end)``: per site and per day, every counter, to the last digit; and
    the lake against what was sent."""
    dynamodb = client("dynamodb", settings)
    per_site = engines.sql(settings, queries.site_totals_sql(start, end))
    lake_sites = {row["site_id"]: row for row in engines.records(per_site)}
    lake_days = {row["day"]: row for row in engines.records(queries.daily(settings, start, end))}
    totals = {row["site_id"]: row for row in query.rollups(settings, dynamodb, [rollups.TOTAL_BUCKET])}
    days = [f"D#{start + n * ONE_DAY:%Y-%m-%d}" for n in range((end - start) // ONE_DAY)]
    by_day: dict[str, dict[str, Decimal]] = defaultdict(rollups.zero)
    for row in query.rollups(settings, dynamodb, days):
        for name in rollups.COUNTERS:
            by_day[row["bucket"][2:]][name] += row.get(name, Decimal(0))
    differing_sites = [
        site for site, row in lake_sites.items() if any(row[n] != totals[site].get(n) for n in rollups.COUNTERS)
    ]
    differing_days = [day for day, row in lake_days.items() if any(row[n] != by_day[day][n] for n in rollups.COUNTERS)]
    readings = sum(int(row["readings"]) for row in lake_sites.values())
    generated = sum(row["energy_generated_kwh"] + row["flagged_energy_generated_kwh"] for row in lake_sites.values())
    return {
        "sites_compared": len(lake_sites),
        "days_compared": len(lake_days),
        "sites_differing": differing_sites,
        "days_differing": differing_days,
        "lake_readings": readings,
        "sent_readings": sent["readings"],
        "lake_generated_kwh": str(generated),
        "sent_generated_kwh": str(sent["generated_kwh"]),
        "rollup_days": len(by_day),
    }


def run(sites: int, days: int, interval_minutes: int, ttl_days: int) -> dict[str, Any]:
    moto_gaps.install()
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    state = tempfile.mkdtemp(prefix="hot-window-")
    settings = Settings(
        local_port=port, endpoint_url=f"http://127.0.0.1:{port}", state_dir=state, readings_ttl_days=ttl_days
    )
    provision(settings)
    pipeline = Pipeline(settings)
    s3 = client("s3", settings)
    fleet = simulator.default_fleet(sites)
    start = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0) + ONE_DAY
    sent = {"readings": 0, "generated_kwh": Decimal(0)}
    curve = [{"day": 0, "readings_held": 0, "expired": 0, **memory_mb()}]
    for day in range(days):
        run_ = simulator.simulate(fleet, start + day * ONE_DAY, 24, interval_minutes, 0.02, seed=day)
        for file in simulator.to_files(run_, fmt="json.gz"):
            s3.put_object(Bucket=settings.bucket, Key=file.key, Body=file.body)
        sent["readings"] += len(run_.readings)
        sent["generated_kwh"] += sum(Decimal(str(r["energy_generated_kwh"])) for r in run_.readings)
        settle(pipeline)
        day_end = (start + (day + 1) * ONE_DAY).timestamp()
        expired = moto_gaps.expire_items(settings.region, settings.readings_table, day_end)
        pipeline.drain()  # the time to live's records: the rollups and the lake leave them alone
        forget_handed_over(pipeline)
        gc.collect()
        curve.append({"day": day + 1, "readings_held": held_readings(settings), "expired": expired, **memory_mb()})
        print(json.dumps(curve[-1]), flush=True)
    result = {
        "sites": sites,
        "days": days,
        "interval_minutes": interval_minutes,
        "ttl_days": ttl_days,
        "curve": curve,
        "exact": compare(settings, start, start + days * ONE_DAY, sent),
    }
    server.stop()
    return result


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's access log
    parser = argparse.ArgumentParser()
    parser.add_argument("--sites", type=int, default=100)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--interval-minutes", type=int, default=5)
    parser.add_argument("--ttl-days", type=int, default=35)
    args = parser.parse_args()
    print(json.dumps(run(args.sites, args.days, args.interval_minutes, args.ttl_days)))


if __name__ == "__main__":
    main()
