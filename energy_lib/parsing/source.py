"""The object's bytes as a stream: gzip inflated a chunk at a time (:class:`Source`, with the size limit), and a
window on them that the readers of each shape move through (:class:`Buffer`)."""

from __future__ import annotations

import re
import zlib
from typing import BinaryIO

from energy_lib.errors import UnparseableFile
from energy_lib.parsing.records import ResumePoint

GZIP_MAGIC = b"\x1f\x8b"
BOM = b"\xef\xbb\xbf"
READ_BYTES = 64 * 1024  # one read from the source stream
CHUNK_BYTES = 256 * 1024  # at most this much decompressed at a time
WHITESPACE = re.compile(rb"[ \t\n\r]*")


class Source:
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


class Buffer:
    """A window on the decompressed bytes: ``data`` starts at offset ``base``; ``pos`` indexes ``data``.

    Reading more drops what lies before ``pos`` (or before the absolute offset ``keep`` when set)."""

    __slots__ = ("source", "data", "base", "pos", "keep", "eof")

    def __init__(self, source: Source, data: bytes, base: int) -> None:
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
            self.pos = WHITESPACE.match(self.data, self.pos).end()
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


def open_buffer(stream: BinaryIO, key: str, limit: int) -> tuple[Buffer, bool]:
    """The object from its first byte: a buffer past any byte-order mark, and whether it is gzip (which a name
    ending in ``.gz`` must be: ``not_gzip`` otherwise)."""
    head = b""
    while len(head) < len(GZIP_MAGIC):
        more = stream.read(READ_BYTES)
        if not more:
            break
        head += more
    gzip = head.startswith(GZIP_MAGIC)
    if key.lower().endswith(".gz") and not gzip:
        raise UnparseableFile("not_gzip", "the name ends in .gz but the content is not gzip")
    buf = Buffer(Source(stream, gzip, 0, limit, head), b"", 0)
    while len(buf.data) < len(BOM) and buf.fill():
        pass
    if buf.data.startswith(BOM):
        buf.pos = len(BOM)
    return buf, gzip


def reopen_buffer(stream: BinaryIO, resume: ResumePoint, limit: int) -> Buffer:
    """The object from ``resume`` on: ``stream`` starts at its byte ``resume.source_offset``."""
    source = Source(stream, resume.gzip, resume.source_offset, limit)
    data = b""
    while source.offset < resume.offset:  # gzip: inflate again up to the resume point
        data = source.read()
        if not data:
            raise UnparseableFile("corrupt_gzip", f"the object ends before the resume point {resume.offset}")
    return Buffer(source, data[len(data) - (source.offset - resume.offset) :], resume.offset)
