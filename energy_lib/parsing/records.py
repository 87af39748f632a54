"""What reading a file yields: :class:`Record` with its :class:`ResumePoint`, and the values validation rejects
(:class:`Unreadable`, :class:`RepeatedFields`); the JSON decoder every shape uses (numbers as ``Decimal``)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

ARRAY, RECORDS, OBJECT, LINES, CSV = "array", "records", "object", "lines", "csv"
SHAPES = (ARRAY, RECORDS, OBJECT, LINES, CSV)


class RepeatedFields(dict):
    """A JSON object that names some fields more than once; it keeps each last value, ``repeated`` the names."""

    __slots__ = ("repeated",)


def _object_from_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) == len(pairs):
        return value
    repeated = RepeatedFields(value)
    repeated.repeated = tuple(name for name, times in Counter(name for name, _ in pairs).items() if times > 1)
    return repeated


DECODER = json.JSONDecoder(
    parse_float=Decimal, parse_int=Decimal, parse_constant=Decimal, object_pairs_hook=_object_from_pairs
)


@dataclass(frozen=True, slots=True)
class Unreadable:
    """Stands for a JSON Lines line that is not JSON (``not_json``) or nests too deep (``too_deep``)."""

    reason: str


@dataclass(frozen=True, slots=True)
class ResumePoint:
    """Where reading can start again just after a record; :meth:`as_dict` is its JSON form."""

    shape: str  # array, records (the array of a {"records": [...]} object), object, lines, csv
    gzip: bool
    offset: int  # decompressed bytes up to the end of the record (for lines and CSV rows, its line ending)
    count: int  # JSON documents: elements read so far; JSON Lines and CSV: lines read so far
    header: tuple[str, ...] = ()  # CSV: the column names

    @property
    def source_offset(self) -> int:
        """The byte of the object the stream given to :func:`read_records` must start at to resume here:
        ``offset`` for a plain object (an S3 ranged GET), 0 for gzip (decompressed again up to ``offset``)."""
        return 0 if self.gzip else self.offset

    def as_dict(self) -> dict[str, Any]:
        point = {"shape": self.shape, "gzip": self.gzip, "offset": self.offset, "count": self.count}
        return {**point, "header": list(self.header)} if self.shape == CSV else point

    @classmethod
    def from_dict(cls, point: dict[str, Any]) -> ResumePoint:
        if point.get("shape") not in SHAPES:
            raise ValueError(f"not a resume point: {point!r}")
        return cls(
            point["shape"],
            bool(point["gzip"]),
            int(point["offset"]),
            int(point["count"]),
            tuple(point.get("header", ())),
        )


@dataclass(frozen=True, slots=True)
class Record:
    position: int  # element number in a JSON document, line number in JSON Lines and CSV
    value: Any  # a dict for a well-formed reading; anything else is rejected
    original: str
    resume: ResumePoint  # reading again from here yields the records after this one
