"""Turn the bytes of a source object into records, whatever shape the producer sent.

Shapes: a JSON array, a single JSON object, ``{"records": [...]}``, JSON Lines, CSV with a header; any
of them gzip-compressed; a UTF-8 byte-order mark is tolerated. Numbers are read as ``Decimal`` from their
text, never through float. Each record keeps its exact original text for quarantine.

A file that cannot be read at all raises :class:`UnparseableFile`; a single bad line of JSON Lines or
CSV becomes a record that validation rejects, so the rest of the file is kept.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import zlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from energy_lib.errors import UnparseableFile

GZIP_MAGIC = b"\x1f\x8b"
LINE_SUFFIXES = (".jsonl", ".ndjson")
_DECODER = json.JSONDecoder(parse_float=Decimal, parse_int=Decimal, parse_constant=Decimal)
_WHITESPACE = " \t\r\n"


class NotJson:
    """Stands for a JSON Lines line that is not valid JSON; validation rejects it."""


@dataclass(frozen=True, slots=True)
class Record:
    position: int  # element number in a JSON document, line number in JSON Lines and CSV
    value: Any  # a dict for a well-formed reading; anything else is rejected
    original: str


def parse_records(body: bytes, key: str) -> list[Record]:
    """Every record in ``body``; ``key`` (the object key) tells CSV and JSON Lines by suffix."""
    name = key.lower()
    if body[:2] == GZIP_MAGIC:
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError, zlib.error) as exc:
            raise UnparseableFile(f"corrupt gzip data: {exc}") from exc
    elif name.endswith(".gz"):
        raise UnparseableFile("name ends in .gz but the content is not gzip")
    name = name.removesuffix(".gz")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnparseableFile(f"not UTF-8 text: {exc}") from exc
    if not text.strip():
        raise UnparseableFile("empty file")
    if name.endswith(".csv"):
        return _csv_records(text)
    if name.endswith(LINE_SUFFIXES):
        return _json_lines(text)
    try:
        return _json_document(text)
    except json.JSONDecodeError as exc:
        if _looks_like_json_lines(text):
            return _json_lines(text)
        raise UnparseableFile(f"not valid JSON: {exc}") from exc


def _lines(text: str, keepends: bool = False) -> list[str]:
    """Lines split at real line endings only (\\n, \\r\\n, \\r); str.splitlines would also split at
    U+2028, form feeds and others that may stand unescaped inside a JSON string or a quoted CSV field."""
    lines = io.StringIO(text, newline="").readlines()
    return lines if keepends else [line.rstrip("\r\n") for line in lines]


def _looks_like_json_lines(text: str) -> bool:
    lines = [line.strip() for line in _lines(text) if line.strip()]
    return len(lines) > 1 and all(line.startswith("{") for line in lines)


def _skip(text: str, index: int) -> int:
    while index < len(text) and text[index] in _WHITESPACE:
        index += 1
    return index


def _expect(text: str, index: int, chars: str) -> str:
    if index >= len(text) or text[index] not in chars:
        found = text[index] if index < len(text) else "end of file"
        raise json.JSONDecodeError(f"expected one of {chars!r}, found {found!r}", text, index)
    return text[index]


def _array(text: str, index: int) -> tuple[list[Record], int]:
    """Elements of the JSON array that starts at ``text[index]``, each with its exact text."""
    records: list[Record] = []
    index = _skip(text, index + 1)
    if index < len(text) and text[index] == "]":
        return records, index + 1
    while True:
        value, end = _DECODER.raw_decode(text, index)
        records.append(Record(len(records) + 1, value, text[index:end]))
        index = _skip(text, end)
        if _expect(text, index, ",]") == "]":
            return records, index + 1
        index = _skip(text, index + 1)


def _json_document(text: str) -> list[Record]:
    start = _skip(text, 0)
    if text[start] == "[":
        records, end = _array(text, start)
    elif text[start] == "{":
        records, end = _object(text, start)
    else:
        raise UnparseableFile("a JSON document must be an array or an object")
    if _skip(text, end) != len(text):
        raise json.JSONDecodeError("extra data after the document", text, end)
    return records


def _object(text: str, start: int) -> tuple[list[Record], int]:
    """A single reading, or the elements of its ``records`` array."""
    value, end = _DECODER.raw_decode(text, start)
    if not isinstance(value.get("records"), list):
        return [Record(1, value, text[start:end])], end
    # Walk the members again to find where the records array starts, so each element keeps its text;
    # like json, the last "records" member wins.
    index, records_at = _skip(text, start + 1), start
    while index < end - 1:
        member, index = _DECODER.raw_decode(text, index)
        index = _skip(text, _skip(text, index) + 1)  # past the colon
        if member == "records":
            records_at = index
        _, index = _DECODER.raw_decode(text, index)
        index = _skip(text, _skip(text, index) + 1)  # past the comma or the closing brace
    return _array(text, records_at)[0], end


def _json_lines(text: str) -> list[Record]:
    records = []
    for number, line in enumerate(_lines(text), start=1):
        if not line.strip():
            continue
        try:
            value = _DECODER.decode(line)
        except json.JSONDecodeError:
            value = NotJson()
        records.append(Record(number, value, line))
    return records


def _csv_records(text: str) -> list[Record]:
    lines = _lines(text, keepends=True)
    reader = csv.reader(lines)
    try:
        header = [name.strip() for name in next(reader)]
    except (StopIteration, csv.Error) as exc:
        raise UnparseableFile(f"CSV without a header: {exc}") from exc
    records = []
    first_line = reader.line_num
    try:
        for row in reader:
            original = "".join(lines[first_line : reader.line_num]).rstrip("\r\n")
            if row:
                values = {name: (row[i] if i < len(row) else None) for i, name in enumerate(header) if name}
                records.append(Record(first_line + 1, values, original))
            first_line = reader.line_num
    except csv.Error as exc:
        raise UnparseableFile(f"malformed CSV at line {reader.line_num}: {exc}") from exc
    return records
