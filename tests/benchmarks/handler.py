"""The real ingest handler in a child process of its own, as a warm Lambda container: lambda/handler.py imported
by path, called by the local runtime (SQS event, a context whose remaining time falls from the function's
timeout) until the ingest queue is empty, continuations included. Prints one JSON object: invocations, CPU and
wall seconds, and the process's memory high-water mark (VmHWM) after the import and at the end.

    ENERGY_*=... python -m tests.benchmarks.handler
"""

from __future__ import annotations

import logging

from energy_lib.clients import client
from energy_lib.config import Settings
from energy_lib.workbook.local.runtime import LocalRuntime, load_handler
from tests.benchmarks.processing import print_measured


def run_until_done(runtime: LocalRuntime) -> dict[str, object]:
    """Poll until the ingest queue is empty; how many invocations that took."""
    sqs = client("sqs", runtime.settings)
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    invocations = 0
    while True:
        handled = runtime.poll_once(wait_s=0)
        invocations += handled > 0
        waiting = sqs.get_queue_attributes(QueueUrl=runtime.queue_url, AttributeNames=names)["Attributes"]
        if not handled and not sum(int(waiting[name]) for name in names):
            return {"invocations": invocations}


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    # the baseline: the interpreter with the handler, energy_lib, boto3 and botocore loaded
    runtime = LocalRuntime(Settings.from_env(), handler=load_handler(), retry_delay_s=0)
    print_measured(lambda: run_until_done(runtime))


if __name__ == "__main__":
    main()
