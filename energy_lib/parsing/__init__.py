"""Read the records of a source object as a stream, whatever shape the producer sent (one module a shape:
:mod:`.json_document`, :mod:`.json_lines`, :mod:`.csv_rows`; the bytes: :mod:`.source`; what is yielded:
:mod:`.records`; :func:`read_records` in :mod:`.read`).

Shapes: a JSON array, a single JSON object, ``{"records": [...]}``, JSON Lines (named ``.jsonl`` or
``.ndjson``, or any file whose first line is a whole JSON object with more lines after it), CSV with a
header (named ``.csv``); any of them gzip-compressed (told by its magic bytes); a UTF-8 byte-order mark is
tolerated. Numbers are ``Decimal`` from their text, never through float. Each record keeps its exact
original text for quarantine.

:func:`read_records` reads a binary stream (an S3 body) chunk by chunk and yields one record at a time, so
memory is set by the chunk size and ``Settings.max_record_bytes``, not by the file. Each record carries a
:class:`ResumePoint`: reading can stop after any record and start again there in another process.

A file that cannot be read, or that breaks a limit, raises :class:`UnparseableFile` when the problem is
met (the records before it have been yielded) with one of these reasons:
``not_gzip`` (named ``.gz``, not gzip), ``corrupt_gzip``, ``not_utf8``, ``empty``, ``not_json`` (a JSON
document that is malformed, truncated, followed by more data, or not an array or object), ``not_csv`` (no
header: no row names a column), ``duplicate_field`` (a second top-level ``records`` member, or a CSV column named
twice), ``too_large`` (more than ``Settings.max_decompressed_bytes`` bytes once decompressed),
``record_too_large`` (a line, CSV row or JSON element longer than ``Settings.max_record_bytes``),
``too_deep`` (an element of a JSON document nested deeper than ``Settings.max_depth``).

In JSON Lines every line stands alone: a line that is not JSON, or nests deeper than ``max_depth``, is a
record with an :class:`Unreadable` value that validation rejects (``not_json``, ``too_deep``), and the
other lines are kept. Likewise a bad CSV row is a record validation rejects. A JSON object naming a field
twice is a :class:`RepeatedFields` (validation rejects it as ``duplicate_field:<name>``).
"""

from energy_lib.parsing.read import LINE_SUFFIXES, read_records
from energy_lib.parsing.records import (
    ARRAY,
    CSV,
    LINES,
    OBJECT,
    RECORDS,
    SHAPES,
    Record,
    RepeatedFields,
    ResumePoint,
    Unreadable,
)
from energy_lib.parsing.source import BOM, GZIP_MAGIC

__all__ = [
    "ARRAY",
    "BOM",
    "CSV",
    "GZIP_MAGIC",
    "LINES",
    "LINE_SUFFIXES",
    "OBJECT",
    "RECORDS",
    "SHAPES",
    "Record",
    "RepeatedFields",
    "ResumePoint",
    "Unreadable",
    "read_records",
]
