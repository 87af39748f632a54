"""The entry point: open the object (or reopen it at a resume point), tell its shape, read it with that shape's
reader."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from energy_lib.config import Settings
from energy_lib.parsing.csv_rows import CsvReader
from energy_lib.parsing.json_document import DocumentReader
from energy_lib.parsing.json_lines import LinesReader, looks_like_json_lines
from energy_lib.parsing.records import ARRAY, CSV, LINES, Record, ResumePoint
from energy_lib.parsing.source import Buffer, open_buffer, reopen_buffer

LINE_SUFFIXES = (".jsonl", ".ndjson")


def read_records(stream: BinaryIO, key: str, settings: Settings, resume: ResumePoint | None = None) -> Iterator[Record]:
    """The records of the object ``stream`` reads, one at a time; ``key`` (the object key) tells CSV and JSON
    Lines by suffix. With ``resume``, the records after that point; ``stream`` then starts at the object's
    byte ``resume.source_offset``."""
    if resume is None:
        buf, gzip = open_buffer(stream, key, settings.max_decompressed_bytes)
        shape = _shape(key, buf, settings)
    else:
        buf, gzip, shape = reopen_buffer(stream, resume, settings.max_decompressed_bytes), resume.gzip, resume.shape
    if shape == CSV:
        yield from CsvReader(buf, gzip, settings).records(resume)
    elif shape == LINES:
        yield from LinesReader(buf, gzip, settings).records(resume.count if resume else 0)
    else:
        yield from DocumentReader(buf, gzip, settings).records(shape, resume)


def _shape(key: str, buf: Buffer, settings: Settings) -> str:
    name = key.lower().removesuffix(".gz")
    if name.endswith(".csv"):
        return CSV
    if name.endswith(LINE_SUFFIXES) or looks_like_json_lines(buf, settings.max_record_bytes, settings.max_depth):
        return LINES
    return ARRAY  # a JSON document; DocumentReader tells an array from an object
