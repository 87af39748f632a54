"""JSON documents: an array of readings, ``{"records": [...]}`` (its other members skipped), or a single object.

Each element is read whole into the buffer (at most ``max_record_bytes``) and decoded on its own, so memory does not
grow with the document; nesting deeper than ``max_depth`` is ``too_deep``.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from typing import Any

from energy_lib.errors import UnparseableFile
from energy_lib.parsing.reader import ShapeReader
from energy_lib.parsing.records import ARRAY, DECODER, OBJECT, RECORDS, Record, ResumePoint

STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.S)
FLAT_OBJECT = re.compile(rb'\{(?:[^{}\[\]"]++|"(?:[^"\\]++|\\.)*+")*+\}', re.S)  # a reading: no nesting
STRUCTURE = re.compile(rb'"(?:[^"\\]++|\\.)*+"|["\[\]{}]', re.S)  # strings, brackets, an unclosed quote
SCALAR = re.compile(rb"[^ \t\n\r,\]}]+")
OPEN, QUOTE = frozenset(b"[{"), ord('"')


class TooDeep(Exception):
    pass


def container_end(data: bytes, start: int, max_depth: int) -> int | None:
    """Index just past the array or object at ``data[start]``, None when ``data`` ends first; raises
    :class:`TooDeep` when it nests deeper than ``max_depth``."""
    depth = 0
    for match in STRUCTURE.finditer(data, start):
        char = data[match.start()]
        if char == QUOTE:
            if match.end() - match.start() == 1:
                return None  # a string that does not end in data
        elif char in OPEN:
            depth += 1
            if depth > max_depth:
                raise TooDeep
        else:
            depth -= 1
            if depth == 0:
                return match.end()
    return None


class DocumentReader(ShapeReader):
    def records(self, shape: str, resume: ResumePoint | None) -> Iterator[Record]:
        """The records of a JSON document (``shape`` and ``resume`` from a resume point, or ``ARRAY`` and None at
        the start, where the document tells an array from an object)."""
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
            raise self.too_long(start)
        text = self.text(buf.data[start : buf.pos], start)
        yield Record(1, self._decode(text, start), text, ResumePoint(OBJECT, self.gzip, buf.base + buf.pos, 1))

    def _members(self, records_seen: bool, after_value: bool) -> Iterator[Record]:
        """The members of the top-level object up to its ``}``; the ``records`` array's elements as records."""
        buf = self.buf
        while (following := self._next_item(after_value, ord("}"), "a member name")) is not None:
            if following != QUOTE:
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
                raise self.too_long(buf.keep - buf.base)
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
            except TooDeep:
                raise self.error("too_deep", f"nested deeper than {self.max_depth} (ENERGY_MAX_DEPTH)", start) from None
            if end is not None:
                if end - start > self.max_record:
                    raise self.too_long(start)
                text = self.text(data[start:end], start)
                return self._decode(text, start), text, end
            if len(data) - start > self.max_record:
                raise self.too_long(start)
            if not buf.fill():
                raise self.error("not_json", "not valid JSON: the file ends inside a value", start)

    def _value_end(self, data: bytes, start: int, max_depth: int, eof: bool) -> int | None:
        first = data[start]
        if first == ord("{"):
            flat = FLAT_OBJECT.match(data, start)
            if flat:
                if max_depth < 1:
                    raise TooDeep
                return flat.end()
        if first in OPEN:
            return container_end(data, start, max_depth)
        match = (STRING if first == QUOTE else SCALAR).match(data, start)
        if match is None:
            if first == QUOTE:
                return None
            raise self._unexpected("a value")
        return match.end() if match.end() < len(data) or eof else None

    def _decode(self, text: str, start: int) -> Any:
        try:
            return DECODER.decode(text)
        except json.JSONDecodeError as exc:
            raise self.error(
                "not_json", f"not valid JSON: {exc.msg} at character {exc.pos} of the value", start
            ) from exc

    def _unexpected(self, wanted: str) -> UnparseableFile:
        buf = self.buf
        found = "the end of the file" if buf.pos >= len(buf.data) else repr(chr(buf.data[buf.pos]))
        return self.error("not_json", f"not valid JSON: expected {wanted}, found {found}", buf.pos)
