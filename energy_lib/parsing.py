"""Read the records of a source object as a stream, whatever shape the producer sent.

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

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, BinaryIO

from energy_lib.config import Settings
from energy_lib.errors import UnparseableFile

GZIP_MAGIC = b"\x1f\x8b"
BOM = b"\xef\xbb\xbf"
LINE_SUFFIXES = (".jsonl", ".ndjson")
READ_BYTES = 64 * 1024  # one read from the source stream
CHUNK_BYTES = 256 * 1024  # at most this much decompressed at a time
ARRAY, RECORDS, OBJECT, LINES, CSV = "array", "records", "object", "lines", "csv"
SHAPES = (ARRAY, RECORDS, OBJECT, LINES, CSV)

_WHITESPACE = re.compile(rb"[ \t\n\r]*")
_CONTENT = re.compile(rb"[^ \t\n\r]")
_NEWLINE = re.compile(rb"\r\n?|\n")
_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.S)
_FLAT_OBJECT = re.compile(rb'\{(?:[^{}\[\]"]++|"(?:[^"\\]++|\\.)*+")*+\}', re.S)  # a reading: no nesting
_STRUCTURE = re.compile(rb'"(?:[^"\\]++|\\.)*+"|["\[\]{}]', re.S)  # strings, brackets, an unclosed quote
_SCALAR = re.compile(rb"[^ \t\n\r,\]}]+")
_OPEN, _QUOTE = frozenset(b"[{"), ord('"')


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


_DECODER = json.JSONDecoder(
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


def parse_records(body: bytes, key: str) -> list[Record]:
    """Every record of ``body`` with the default limits: the pipeline's entry until it streams the object."""
    return list(read_records(io.BytesIO(body), key, Settings()))


def read_records(stream: BinaryIO, key: str, settings: Settings, resume: ResumePoint | None = None) -> Iterator[Record]:
    """The records of the object ``stream`` reads, one at a time; ``key`` (the object key) tells CSV and JSON
    Lines by suffix. With ``resume``, the records after that point; ``stream`` then starts at the object's
    byte ``resume.source_offset``."""
    return _Reader(stream, key, settings, resume).records()


class _TooDeep(Exception):
    pass


def _container_end(data: bytes, start: int, max_depth: int) -> int | None:
    """Index just past the array or object at ``data[start]``, None when ``data`` ends first; raises
    :class:`_TooDeep` when it nests deeper than ``max_depth``."""
    depth = 0
    for match in _STRUCTURE.finditer(data, start):
        char = data[match.start()]
        if char == _QUOTE:
            if match.end() - match.start() == 1:
                return None  # a string that does not end in data
        elif char in _OPEN:
            depth += 1
            if depth > max_depth:
                raise _TooDeep
        else:
            depth -= 1
            if depth == 0:
                return match.end()
    return None


class _Source:
    """The object's bytes, inflated when gzip, a chunk at a time; past the size limit it raises ``too_large``."""

    def __init__(self, stream: BinaryIO, gzip: bool, offset: int, limit: int, head: bytes = b"") -> None:
        self.stream, self.limit, self.offset = stream, limit, offset  # offset: decompressed bytes before the next
        self.pending = head  # raw bytes read but not used yet
        self.inflater = zlib.decompressobj(31) if gzip else None
        self.member_started = False

    def read(self) -> bytes:
        """The next chunk; b"" at the end."""
        chunk = self._inflate() if self.inflater else self._raw()
        self.offset += len(chunk)
        if self.offset > self.limit:
            raise UnparseableFile("too_large", f"more than {self.limit} bytes (ENERGY_MAX_DECOMPRESSED_BYTES)")
        return chunk

    def _raw(self) -> bytes:
        if self.pending:
            chunk, self.pending = self.pending, b""
            return chunk
        return self.stream.read(READ_BYTES)

    def _inflate(self) -> bytes:
        inflater = self.inflater
        while True:
            data = inflater.unconsumed_tail or self._raw()
            if not data:
                if self.member_started and not inflater.eof:
                    raise UnparseableFile("corrupt_gzip", "corrupt gzip data: the stream ends inside a member")
                return b""
            self.member_started = True
            try:
                chunk = inflater.decompress(data, CHUNK_BYTES)
            except zlib.error as exc:
                raise UnparseableFile("corrupt_gzip", f"corrupt gzip data: {exc}") from exc
            if inflater.eof:  # another member may follow (gzip files may be concatenated)
                self.pending, self.member_started = inflater.unused_data, False
                inflater = self.inflater = zlib.decompressobj(31)
            if chunk:
                return chunk


class _Buffer:
    """A window on the decompressed bytes: ``data`` starts at offset ``base``; ``pos`` indexes ``data``.

    Reading more drops what lies before ``pos`` (or before the absolute offset ``keep`` when set)."""

    __slots__ = ("source", "data", "base", "pos", "keep", "eof")

    def __init__(self, source: _Source, data: bytes, base: int) -> None:
        self.source, self.data, self.base, self.pos, self.keep, self.eof = source, data, base, 0, None, False

    def fill(self) -> bool:
        """Append the next chunk; False at the end of the data."""
        if self.eof:
            return False
        chunk = self.source.read()
        cut = self.pos if self.keep is None else min(self.pos, self.keep - self.base)
        self.data = self.data[cut:] + chunk
        self.base += cut
        self.pos -= cut
        self.eof = not chunk
        return not self.eof

    def next_byte(self) -> int | None:
        """Skip whitespace; the byte at ``pos`` then, None at the end."""
        while True:
            self.pos = _WHITESPACE.match(self.data, self.pos).end()
            if self.pos < len(self.data):
                return self.data[self.pos]
            if not self.fill():
                return None

    def find(self, pattern: re.Pattern[bytes], start: int, within: int) -> int | None:
        """Offset of ``pattern`` from offset ``start`` (which ``keep`` holds), looking at most ``within``
        bytes ahead; None when it is not there."""
        while True:
            index = start - self.base
            match = pattern.search(self.data, index, index + within)
            if match:
                return self.base + match.start()
            if len(self.data) - index >= within or not self.fill():
                return None


class _Reader:
    def __init__(self, stream: BinaryIO, key: str, settings: Settings, resume: ResumePoint | None) -> None:
        self.stream, self.resume = stream, resume
        self.name = key.lower().removesuffix(".gz")
        self.gzip_name = key.lower().endswith(".gz")
        self.limit = settings.max_decompressed_bytes
        self.max_record, self.max_depth = settings.max_record_bytes, settings.max_depth
        self.gzip = False

    def error(self, reason: str, detail: str, index: int | None = None) -> UnparseableFile:
        where = f" (byte {self.buf.base + index})" if index is not None else ""
        return UnparseableFile(reason, detail + where)

    # --- opening --------------------------------------------------------------------------------

    def records(self) -> Iterator[Record]:
        resume = self.resume
        if resume is None:
            self.buf = self._open()
            shape = self._shape()
        else:
            self.gzip, shape = resume.gzip, resume.shape
            self.buf = self._reopen(resume)
        if shape == CSV:
            yield from self._csv(resume)
        elif shape == LINES:
            yield from self._json_lines(resume.count if resume else 0)
        else:
            yield from self._document(shape, resume)

    def _open(self) -> _Buffer:
        head = b""
        while len(head) < len(GZIP_MAGIC):
            more = self.stream.read(READ_BYTES)
            if not more:
                break
            head += more
        self.gzip = head.startswith(GZIP_MAGIC)
        if self.gzip_name and not self.gzip:
            raise UnparseableFile("not_gzip", "the name ends in .gz but the content is not gzip")
        buf = _Buffer(_Source(self.stream, self.gzip, 0, self.limit, head), b"", 0)
        while len(buf.data) < len(BOM) and buf.fill():
            pass
        if buf.data.startswith(BOM):
            buf.pos = len(BOM)
        return buf

    def _reopen(self, resume: ResumePoint) -> _Buffer:
        source = _Source(self.stream, resume.gzip, resume.source_offset, self.limit)
        data = b""
        while source.offset < resume.offset:  # gzip: inflate again up to the resume point
            data = source.read()
            if not data:
                raise UnparseableFile("corrupt_gzip", f"the object ends before the resume point {resume.offset}")
        return _Buffer(source, data[len(data) - (source.offset - resume.offset) :], resume.offset)

    def _shape(self) -> str:
        if self.name.endswith(".csv"):
            return CSV
        if self.name.endswith(LINE_SUFFIXES) or self._looks_like_json_lines():
            return LINES
        return ARRAY  # a JSON document; _document tells an array from an object

    def _looks_like_json_lines(self) -> bool:
        """True when the first line is a whole JSON object and more follows: JSON Lines under any name."""
        buf = self.buf
        buf.keep = buf.base + buf.pos
        try:
            first = buf.find(_CONTENT, buf.keep, self.max_record)
            if first is None or buf.data[first - buf.base] != ord("{"):
                return False
            end = buf.find(_NEWLINE, first, self.max_record)
            if end is None:
                return False
            line = buf.data[first - buf.base : end - buf.base]
            try:
                _container_end(line, 0, self.max_depth)
                value = _DECODER.decode(line.decode("utf-8"))
            except (ValueError, _TooDeep):
                return False
            return isinstance(value, dict) and buf.find(_CONTENT, end, self.max_record) is not None
        finally:
            buf.pos, buf.keep = buf.keep - buf.base, None

    # --- JSON documents -----------------------------------------------------------------------------

    def _document(self, shape: str, resume: ResumePoint | None) -> Iterator[Record]:
        buf = self.buf
        if resume is None:
            first = buf.next_byte()
            if first is None:
                raise UnparseableFile("empty", "empty file")
            if first == ord("["):
                buf.pos += 1
                yield from self._array(ARRAY, 0, started=False)
            elif first == ord("{"):
                yield from self._object()
            else:
                raise self._not_a_document()
        elif shape == ARRAY:
            yield from self._array(ARRAY, resume.count, started=True)
        elif shape == RECORDS:
            yield from self._array(RECORDS, resume.count, started=True)
            yield from self._members(records_seen=True, after_value=True)
        if buf.next_byte() is not None:
            raise self.error("not_json", "not valid JSON: extra data after the document", buf.pos)

    def _not_a_document(self) -> UnparseableFile:
        window = self.buf.data[self.buf.pos : self.buf.pos + 64]
        try:
            codecs.getincrementaldecoder("utf-8")().decode(window, final=False)
        except UnicodeDecodeError as exc:
            return self.error("not_utf8", f"not UTF-8 text: {exc}", self.buf.pos)
        return self.error("not_json", "not valid JSON: a JSON document must be an array or an object", self.buf.pos)

    def _array(self, shape: str, count: int, started: bool) -> Iterator[Record]:
        """Elements of the array whose ``[`` is behind ``pos``; ``started``: ``pos`` is after element ``count``."""
        buf = self.buf
        while self._next_item(started, ord("]"), "a value") is not None:
            value, text, end = self._value(self.max_depth)
            count += 1
            buf.pos = end
            yield Record(count, value, text, ResumePoint(shape, self.gzip, buf.base + end, count))
            started = True

    def _object(self) -> Iterator[Record]:
        """The top-level object at ``pos``: the elements of its ``records`` array, or else itself as one record."""
        buf = self.buf
        buf.keep = buf.base + buf.pos  # kept whole while it may be a single reading
        buf.pos += 1
        yield from self._members(records_seen=False, after_value=False)
        if buf.keep is None:
            return
        start = buf.keep - buf.base
        buf.keep = None
        if buf.pos - start > self.max_record:
            raise self._too_long(start)
        text = self._text(buf.data[start : buf.pos], start)
        yield Record(1, self._decode(text, start), text, ResumePoint(OBJECT, self.gzip, buf.base + buf.pos, 1))

    def _members(self, records_seen: bool, after_value: bool) -> Iterator[Record]:
        """The members of the top-level object up to its ``}``; the ``records`` array's elements as records."""
        buf = self.buf
        while (following := self._next_item(after_value, ord("}"), "a member name")) is not None:
            if following != _QUOTE:
                raise self._unexpected("a member name")
            name, _, buf.pos = self._value(0)
            if buf.next_byte() != ord(":"):
                raise self._unexpected("':'")
            buf.pos += 1
            following = buf.next_byte()
            if name == "records":
                if records_seen:
                    raise self.error("duplicate_field", "the object has a second 'records' member", buf.pos)
                records_seen = True
                if following == ord("["):
                    buf.keep = None  # a wrapper of readings, not a reading
                    buf.pos += 1
                    yield from self._array(RECORDS, 0, started=False)
                    after_value = True
                    continue
            if following is None:
                raise self._unexpected("a value")
            _, _, buf.pos = self._value(self.max_depth - 1)
            if buf.keep is not None and buf.base + buf.pos - buf.keep > self.max_record:
                raise self._too_long(buf.keep - buf.base)
            after_value = True

    def _next_item(self, after_item: bool, close: int, wanted: str) -> int | None:
        """The first byte of the container's next item, past its comma; None once ``close`` ends it."""
        buf = self.buf
        following = buf.next_byte()
        if following == close:
            buf.pos += 1
            return None
        if after_item:
            if following != ord(","):
                raise self._unexpected(f"',' or {chr(close)!r}")
            buf.pos += 1
            following = buf.next_byte()
        if following is None:
            raise self._unexpected(wanted)
        return following

    def _value(self, max_depth: int) -> tuple[Any, str, int]:
        """The JSON value at ``pos`` (its value, text and end index), read whole into ``data``."""
        buf = self.buf
        while True:
            data, start = buf.data, buf.pos
            try:
                end = self._value_end(data, start, max_depth, buf.eof)
            except _TooDeep:
                raise self.error("too_deep", f"nested deeper than {self.max_depth} (ENERGY_MAX_DEPTH)", start) from None
            if end is not None:
                if end - start > self.max_record:
                    raise self._too_long(start)
                text = self._text(data[start:end], start)
                return self._decode(text, start), text, end
            if len(data) - start > self.max_record:
                raise self._too_long(start)
            if not buf.fill():
                raise self.error("not_json", "not valid JSON: the file ends inside a value", start)

    def _value_end(self, data: bytes, start: int, max_depth: int, eof: bool) -> int | None:
        first = data[start]
        if first == ord("{"):
            flat = _FLAT_OBJECT.match(data, start)
            if flat:
                if max_depth < 1:
                    raise _TooDeep
                return flat.end()
        if first in _OPEN:
            return _container_end(data, start, max_depth)
        match = (_STRING if first == _QUOTE else _SCALAR).match(data, start)
        if match is None:
            if first == _QUOTE:
                return None
            raise self._unexpected("a value")
        return match.end() if match.end() < len(data) or eof else None

    def _decode(self, text: str, start: int) -> Any:
        try:
            return _DECODER.decode(text)
        except json.JSONDecodeError as exc:
            raise self.error(
                "not_json", f"not valid JSON: {exc.msg} at character {exc.pos} of the value", start
            ) from exc

    def _text(self, data: bytes, start: int) -> str:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise self.error("not_utf8", f"not UTF-8 text: {exc}", start) from exc

    def _unexpected(self, wanted: str) -> UnparseableFile:
        buf = self.buf
        found = "the end of the file" if buf.pos >= len(buf.data) else repr(chr(buf.data[buf.pos]))
        return self.error("not_json", f"not valid JSON: expected {wanted}, found {found}", buf.pos)

    def _too_long(self, start: int) -> UnparseableFile:
        return self.error(
            "record_too_large", f"a record longer than {self.max_record} bytes (ENERGY_MAX_RECORD_BYTES)", start
        )

    # --- lines: JSON Lines and CSV ------------------------------------------------------------------

    def _lines(self) -> Iterator[tuple[bytes, int]]:
        """Each line with its ending (``\\n``, ``\\r\\n`` or ``\\r``: never U+2028 and the like, which may
        stand inside a JSON string or a quoted CSV field) and the offset just past it."""
        buf = self.buf
        while True:
            data, start = buf.data, buf.pos
            match = _NEWLINE.search(data, start)
            if match and (match.end() < len(data) or data[-1] != ord("\r") or buf.eof):
                content_end, end = match.start(), match.end()
            elif buf.eof:
                if start == len(data):
                    return
                content_end = end = len(data)
            else:
                if len(data) - start > self.max_record:
                    raise self._too_long(start)
                buf.fill()
                continue
            if content_end - start > self.max_record:
                raise self._too_long(start)
            buf.pos = end
            yield data[start:end], buf.base + end

    def _json_lines(self, count: int) -> Iterator[Record]:
        content = count > 0
        for line, end in self._lines():
            count += 1
            if not line.strip():
                continue
            content = True
            text = self._text(line, self.buf.pos - len(line)).rstrip("\r\n")
            yield Record(count, self._line_value(line, text), text, ResumePoint(LINES, self.gzip, end, count))
        if not content:
            raise UnparseableFile("empty", "empty file")

    def _line_value(self, line: bytes, text: str) -> Any:
        if line.count(b"{") + line.count(b"[") > self.max_depth:
            try:
                _container_end(line, _WHITESPACE.match(line).end(), self.max_depth)
            except _TooDeep:
                return Unreadable("too_deep")
        try:
            return _DECODER.decode(text)
        except json.JSONDecodeError:
            return Unreadable("not_json")

    def _csv(self, resume: ResumePoint | None) -> Iterator[Record]:
        counted = resume.count if resume else 0  # lines before the reader's first
        row_lines: list[str] = []
        row_end = [resume.offset if resume else 0]
        content = [resume is not None]

        def lines() -> Iterator[str]:
            size = 0
            for line, end in self._lines():
                if not row_lines:
                    size = 0
                size += len(line)
                if size - len(line) + len(line.rstrip(b"\r\n")) > self.max_record:  # its last line ending aside
                    raise self._too_long(self.buf.pos - size)
                text = self._text(line, self.buf.pos - len(line))
                content[0] = content[0] or bool(text.strip())
                row_lines.append(text)
                row_end[0] = end
                yield text

        if csv.field_size_limit() < self.max_record:  # the row is bounded already; csv's own limit is lower
            csv.field_size_limit(self.max_record)
        reader = csv.reader(lines())  # csv.Error cannot happen: lines end only at line endings, rows are bounded
        header = resume.header if resume else self._csv_header(reader, content)
        row_lines.clear()
        first_line = reader.line_num
        for row in reader:
            original = "".join(row_lines).rstrip("\r\n")
            row_lines.clear()
            if row:
                values = {name: (row[i] if i < len(row) else None) for i, name in enumerate(header) if name}
                point = ResumePoint(CSV, self.gzip, row_end[0], counted + reader.line_num, header)
                yield Record(counted + first_line + 1, values, original, point)
            first_line = reader.line_num

    def _csv_header(self, reader: Iterator[list[str]], content: list[bool]) -> tuple[str, ...]:
        for row in reader:
            header = tuple(name.strip() for name in row)
            if any(header):
                repeated = [name for name, times in Counter(filter(None, header)).items() if times > 1]
                if repeated:
                    raise UnparseableFile("duplicate_field", f"the CSV header names {', '.join(repeated)} twice")
                return header
        if not content[0]:
            raise UnparseableFile("empty", "empty file")
        raise UnparseableFile("not_csv", "CSV without a header")
