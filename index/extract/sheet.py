"""Spreadsheets (.xlsx with openpyxl, the only importer of it; .csv with the stdlib) to text.

One line per row, cells separated by tabs, empty cells kept as empty fields so columns line up,
trailing empty cells and empty rows dropped. A workbook's sheet names are headings (each sheet
after the first follows a blank line). The header row of each table (the first row at least half
as wide as the widest of the first 20; a title row above it stays a plain line) is recorded in
`row_headers`, so every chunk of rows below it carries the columns' names as context, never in
its text.

.xlsx: formulas give their cached values (what Excel last computed; none if it never saved one),
dates are ISO (`2024-03-15`, `2024-03-15 09:30:00`), numbers are written without float noise
(`12.0` → `12`, `0.30000000000000004` → `0.3`, a percent format as `3.5%`), and a cell merged
across rows repeats its value on each row it covers, so a row reads on its own. .csv: decoded
like .txt (UTF-8 with or without BOM, else GB18030), the delimiter sniffed among `, \\t ; |`, each
cell as written (a CSV has no types: `001` and `12.0` stay as they are).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
import warnings
import zipfile
import zlib

from index.extract import Extracted, LoadError, TextBuilder
from index.extract.archive import open_zip
from index.extract.text import decode

MAX_HEADER_CHARS = 200  # chunk context, prepended to every chunk of rows: keep it short
# openpyxl reads some 15,000 cells a second on a busy 2-core machine: a bound on the time.
MAX_CELLS = 1_000_000
_HEADER_SCAN_ROWS = 20
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Compound File: .xls, or an encrypted .xlsx
_CSV_DELIMITERS = ",\t;|"


# A line break inside a cell between Chinese characters is wrapping, not a space (as in HTML).
_CJK_BREAK = re.compile(r"(?<=[\u3400-\u9fff])[^\S\n]*\r?\n\s*(?=[\u3400-\u9fff])")


def _cell_text(value: str) -> str:
    """A cell on one line: its own line breaks and tabs would break the row."""
    return " ".join(_CJK_BREAK.sub("", value).split())


def _header_at(rows: list[list[str]]) -> int | None:
    """Index of the header row: the first at least half as wide as the widest of the first
    rows; none for a one-column list."""
    counts = [sum(1 for cell in row if cell) for row in rows[:_HEADER_SCAN_ROWS]]
    if not counts or max(counts) < 2:
        return None
    need = max(1, (max(counts) + 1) // 2)
    return next(i for i, n in enumerate(counts) if n >= need)


def _table(out: TextBuilder, rows: list[list[str]], heading: str | None,
           row_headers: list[tuple[int, int, str]]) -> None:
    """Append one table (a sheet, or a CSV file) and record its header row."""
    rows = [row for row in rows if any(row)]
    if not rows:
        return
    if heading is not None:
        out.heading(heading, 1, sep="\n\n")
    header = _header_at(rows)
    first_data = end = None
    for i, row in enumerate(rows):
        while not row[-1]:
            row = row[:-1]
        line = "\t".join(row)
        start = out.block(line)
        end = start + len(line)
        if header is not None and i == header + 1:
            first_data = start
    if header is not None and first_data is not None and end is not None:
        names = "\t".join(cell for cell in rows[header] if cell)[:MAX_HEADER_CHARS]
        row_headers.append((first_data, end, names))


def _number(value: float, number_format: str) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if "%" in (number_format or ""):
        return _plain(value * 100) + "%"
    return _plain(value)


def _plain(value: float) -> str:
    """A number as a person reads it: no `.0` on whole numbers, at most 15 significant digits
    (what Excel shows), so binary float noise never reaches the text."""
    if isinstance(value, int):
        return str(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.15g}"


def _xlsx_value(cell) -> str:
    value = cell.value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    if isinstance(value, (int, float)):
        return _number(value, cell.number_format)
    return _cell_text(str(value))


def _sheet_rows(sheet) -> list[list[str]]:
    # `_cells` holds only the cells the file stores; iter_rows() would create every cell of
    # the used range, which a single stray cell at XFD1048576 makes 17 billion.
    cells: dict[tuple[int, int], str] = {}
    for (row, col), cell in sheet._cells.items():
        text = _xlsx_value(cell)
        if text:
            cells[row, col] = text
    for merged in sheet.merged_cells.ranges:
        value = cells.get((merged.min_row, merged.min_col))
        if value:
            for row in range(merged.min_row + 1, merged.max_row + 1):
                cells.setdefault((row, merged.min_col), value)
    if not cells:
        return []
    first_col = min(col for _, col in cells)
    by_row: dict[int, dict[int, str]] = {}
    for (row, col), text in cells.items():
        by_row.setdefault(row, {})[col] = text
    return [[cols.get(c, "") for c in range(first_col, max(cols) + 1)]
            for _, cols in sorted(by_row.items())]


def _count_cells(archive: zipfile.ZipFile) -> int:
    """Cell elements in the worksheets, counted by streaming their XML (no parse)."""
    total = 0
    for info in archive.infolist():
        if not (info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml")):
            continue
        try:
            with archive.open(info) as part:
                tail = b""  # a 3-byte tag split across two reads is counted once
                while block := part.read(1 << 20):
                    block = tail + block
                    total += block.count(b"<c ") + block.count(b":c ") + block.count(b"<c>")
                    tail = block[-2:]
        except (zipfile.BadZipFile, zlib.error, NotImplementedError, EOFError, OSError,
                RuntimeError) as exc:
            raise LoadError(f"not a readable .xlsx file ({type(exc).__name__}: {exc})") from None
    return total


def extract_xlsx(data: bytes) -> Extracted:
    """Every worksheet's rows, each sheet under its name."""
    if data.startswith(_OLE_MAGIC):
        if "EncryptedPackage".encode("utf-16-le") in data:
            raise LoadError("the .xlsx is password-protected (encrypted); save a copy without a "
                            "password and ingest that")
        raise LoadError("an old Excel .xls workbook named .xlsx, which is not supported; "
                        "save it as .xlsx")
    cells = _count_cells(open_zip(data, ".xlsx"))  # a zip bomb is refused before it unpacks
    if cells > MAX_CELLS:
        raise LoadError(f"the .xlsx has {cells:,} cells, over the limit of {MAX_CELLS:,}; save "
                        "its sheets as .csv and ingest those")
    try:
        import openpyxl
    except ImportError:
        raise LoadError("reading .xlsx needs openpyxl: pip install openpyxl") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "no default style", unsupported extensions
            # Not read_only: that mode cannot see merged cells.
            book = openpyxl.load_workbook(io.BytesIO(data), data_only=True, keep_links=False)
    except Exception as exc:  # zipfile, XML and openpyxl's own errors all mean "unreadable"
        raise LoadError(f"not a readable .xlsx file ({type(exc).__name__}: {exc})") from None
    out = TextBuilder()
    row_headers: list[tuple[int, int, str]] = []
    for sheet in book.worksheets:
        _table(out, _sheet_rows(sheet), _cell_text(sheet.title), row_headers)
    result = out.build()
    if not result.text.strip():
        raise LoadError("the .xlsx has no cells with values")
    return Extracted(result.text, result.headings, row_headers=row_headers)


def _dialect(sample: str):
    try:
        return csv.Sniffer().sniff(sample, delimiters=_CSV_DELIMITERS)
    except csv.Error:
        # One column, or rows too uneven to sniff: the delimiter the first line uses most.
        first = sample.split("\n", 1)[0]
        delimiter = max(_CSV_DELIMITERS, key=first.count) if any(
            d in first for d in _CSV_DELIMITERS) else ","

        class Fallback(csv.excel):
            pass

        Fallback.delimiter = delimiter
        return Fallback


def extract_csv(data: bytes) -> Extracted:
    """A CSV file's rows; the header row is chunk context."""
    text = decode(data)
    dialect = _dialect(text[:65536])
    try:
        rows = [[_cell_text(cell) for cell in row]
                for row in csv.reader(io.StringIO(text, newline=""), dialect)]
    except csv.Error as exc:
        raise LoadError(f"malformed CSV ({exc})") from None
    out = TextBuilder()
    row_headers: list[tuple[int, int, str]] = []
    _table(out, rows, None, row_headers)
    result = out.build()
    if not result.text.strip():
        raise LoadError("the .csv has no cells with values")
    return Extracted(result.text, row_headers=row_headers)
