"""What the readers of every shape share: the buffer they move through, the limits, one-line errors that say at
which byte, and the lines of JSON Lines and CSV."""

from __future__ import annotations

import re
from collections.abc import Iterator

from energy_lib.config import Settings
from energy_lib.errors import UnparseableFile
from energy_lib.parsing.source import Buffer

NEWLINE = re.compile(rb"\r\n?|\n")


class ShapeReader:
    """Reads the records of one shape from ``buf`` (the object's bytes, at the first record or a resume point)."""

    def __init__(self, buf: Buffer, gzip: bool, settings: Settings) -> None:
        self.buf, self.gzip = buf, gzip
        self.max_record, self.max_depth = settings.max_record_bytes, settings.max_depth

    def error(self, reason: str, detail: str, index: int | None = None) -> UnparseableFile:
        where = f" (byte {self.buf.base + index})" if index is not None else ""
        return UnparseableFile(reason, detail + where)

    def text(self, data: bytes, start: int) -> str:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise self.error("not_utf8", f"not UTF-8 text: {exc}", start) from exc

    def too_long(self, start: int) -> UnparseableFile:
        return self.error(
            "record_too_large", f"a record longer than {self.max_record} bytes (ENERGY_MAX_RECORD_BYTES)", start
        )

    def lines(self) -> Iterator[tuple[bytes, int]]:
        """Each line with its ending (``\\n``, ``\\r\\n`` or ``\\r``: never U+2028 and the like, which may
        stand inside a JSON string or a quoted CSV field) and the offset just past it."""
        buf = self.buf
        while True:
            data, start = buf.data, buf.pos
            match = NEWLINE.search(data, start)
            if match and (match.end() < len(data) or data[-1] != ord("\r") or buf.eof):
                content_end, end = match.start(), match.end()
            elif buf.eof:
                if start == len(data):
                    return
                content_end = end = len(data)
            else:
                if len(data) - start > self.max_record:
                    raise self.too_long(start)
                buf.fill()
                continue
            if content_end - start > self.max_record:
                raise self.too_long(start)
            buf.pos = end
            yield data[start:end], buf.base + end
