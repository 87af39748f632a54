"""CSV with a header: the header is the first row that names a column; columns other than the reading's are kept
as they come (validation reads the four it needs); a row may span lines inside quotes, at most ``max_record_bytes``."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterator

from energy_lib.errors import UnparseableFile
from energy_lib.parsing.reader import ShapeReader
from energy_lib.parsing.records import CSV, Record, ResumePoint


class CsvReader(ShapeReader):
    def records(self, resume: ResumePoint | None) -> Iterator[Record]:
        """The rows after the header, or after ``resume``."""
        counted = resume.count if resume else 0  # lines before the reader's first
        row_lines: list[str] = []
        row_end = [resume.offset if resume else 0]
        content = [resume is not None]

        def lines() -> Iterator[str]:
            size = 0
            for line, end in self.lines():
                if not row_lines:
                    size = 0
                size += len(line)
                if size - len(line) + len(line.rstrip(b"\r\n")) > self.max_record:  # its last line ending aside
                    raise self.too_long(self.buf.pos - size)
                text = self.text(line, self.buf.pos - len(line))
                content[0] = content[0] or bool(text.strip())
                row_lines.append(text)
                row_end[0] = end
                yield text

        if csv.field_size_limit() < self.max_record:  # the row is bounded already; csv's own limit is lower
            csv.field_size_limit(self.max_record)
        reader = csv.reader(lines())  # csv.Error cannot happen: lines end only at line endings, rows are bounded
        header = resume.header if resume else self.header(reader, content)
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

    def header(self, reader: Iterator[list[str]], content: list[bool]) -> tuple[str, ...]:
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
