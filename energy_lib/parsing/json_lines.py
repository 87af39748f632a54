"""JSON Lines: one JSON object a line. Every line stands alone: a line that is not JSON, or nests deeper than
``max_depth``, is a record with an :class:`~energy_lib.parsing.records.Unreadable` value (validation rejects it)
and the other lines are kept. :func:`looks_like_json_lines` tells such a file under any name."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from energy_lib.errors import UnparseableFile
from energy_lib.parsing.json_document import TooDeep, container_end
from energy_lib.parsing.reader import NEWLINE, ShapeReader
from energy_lib.parsing.records import DECODER, LINES, Record, ResumePoint, Unreadable
from energy_lib.parsing.source import WHITESPACE, Buffer

CONTENT = re.compile(rb"[^ \t\n\r]")


def looks_like_json_lines(buf: Buffer, max_record: int, max_depth: int) -> bool:
    """True when the first line is a whole JSON object and more follows: JSON Lines under any name."""
    buf.keep = buf.base + buf.pos
    try:
        first = buf.find(CONTENT, buf.keep, max_record)
        if first is None or buf.data[first - buf.base] != ord("{"):
            return False
        end = buf.find(NEWLINE, first, max_record)
        if end is None:
            return False
        line = buf.data[first - buf.base : end - buf.base]
        try:
            container_end(line, 0, max_depth)
            value = DECODER.decode(line.decode("utf-8"))
        except (ValueError, TooDeep):
            return False
        return isinstance(value, dict) and buf.find(CONTENT, end, max_record) is not None
    finally:
        buf.pos, buf.keep = buf.keep - buf.base, None


class LinesReader(ShapeReader):
    def records(self, count: int) -> Iterator[Record]:
        """The lines after the first ``count`` (a resume point's), each one record."""
        content = count > 0
        for line, end in self.lines():
            count += 1
            if not line.strip():
                continue
            content = True
            text = self.text(line, self.buf.pos - len(line)).rstrip("\r\n")
            yield Record(count, self.line_value(line, text), text, ResumePoint(LINES, self.gzip, end, count))
        if not content:
            raise UnparseableFile("empty", "empty file")

    def line_value(self, line: bytes, text: str) -> Any:
        if line.count(b"{") + line.count(b"[") > self.max_depth:
            try:
                container_end(line, WHITESPACE.match(line).end(), self.max_depth)
            except TooDeep:
                return Unreadable("too_deep")
        try:
            return DECODER.decode(text)
        except json.JSONDecodeError:
            return Unreadable("not_json")
