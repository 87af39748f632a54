"""The real ingest handler in a child process of its own, as a warm Lambda container: lambda/handler.py imported
by path, called by the local runtime (SQS event, a context whose remaining time falls from the function's
timeout) until the ingest queue is empty, continuations included. Prints one JSON object: invocations, CPU and
wall seconds, and the process's memory high-water mark (VmHWM) after the import and at the end.

    ENERGY_*=... python -m tests.benchmarks.handler
"""

from __future__ import annotations

import json
import logging
import time

from energy_lib.clients import client
from energy_lib.config import Settings
from energy_lib.workbook.local.runtime import LocalRuntime, load_handler
from tests.benchmarks.processing import vm_hwm_kib


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    settings = Settings.from_env()
    runtime = LocalRuntime(settings, handler=load_handler(), retry_delay_s=0)
    baseline_kib = vm_hwm_kib()  # the interpreter with the handler, energy_lib, boto3 and botocore loaded
    sqs = client("sqs", settings)
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    invocations = 0
    cpu, wall = time.process_time(), time.perf_counter()
    while True:
        handled = runtime.poll_once(wait_s=0)
        invocations += handled > 0
        waiting = sqs.get_queue_attributes(QueueUrl=runtime.queue_url, AttributeNames=names)["Attributes"]
        if not handled and not sum(int(waiting[name]) for name in names):
            break
    result = {
        "invocations": invocations,
        "cpu_s": time.process_time() - cpu,
        "wall_s": time.perf_counter() - wall,
        "baseline_kib": baseline_kib,
        "peak_kib": vm_hwm_kib(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
