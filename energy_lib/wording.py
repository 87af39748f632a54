"""Words for people, shared by alerts (Lambda side) and the workbook: counts in the right number."""

from __future__ import annotations


def count(n: int, noun: str, plural: str = "") -> str:
    """``n`` and ``noun``, in the plural (``plural``, default ``noun + "s"``) unless ``n`` is 1.

    ``count(1, "message")`` is ``"1 message"``; ``count(1440, "anomaly", "anomalies")`` is ``"1,440 anomalies"``.
    """
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"
