"""The local stack's compaction schedule: the compaction function's job, run every few seconds in the stack's
process (on AWS a schedule invokes the function every five minutes)."""

from __future__ import annotations

import logging
import threading

from energy_lib.clients import client
from energy_lib.compaction.days import compact
from energy_lib.config import Settings
from energy_lib.workbook.infra.spec import COMPACTION

logger = logging.getLogger("energy_lib.local_compactor")


class LocalCompactor(threading.Thread):
    """Runs :func:`~energy_lib.compaction.days.compact` every ``period_s`` until :meth:`stop`."""

    def __init__(self, settings: Settings, period_s: float = COMPACTION.local_period_s) -> None:
        super().__init__(name="lake-compactor", daemon=True)
        self.settings = settings
        self.period_s = period_s
        self.stopping = threading.Event()

    def run(self) -> None:
        s3 = client("s3", self.settings)
        while not self.stopping.wait(self.period_s):
            try:
                compact(self.settings, s3)
            except Exception:  # the next run tries again; nothing is lost, the change objects stay
                logger.exception("compacting the lake failed")

    def stop(self) -> None:
        self.stopping.set()
