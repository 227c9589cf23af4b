"""Reading an uploaded table (CSV or XLSX) safely: the importers of engagements and of
people share it. A file is refused as a whole (ImportFileError) when it cannot be read,
names a column the importer does not know, or would expand beyond what a reader takes."""

import csv
import datetime
import io
import re
import zipfile
from pathlib import PurePath

from openpyxl import load_workbook
from openpyxl.utils.escape import unescape

from core.downloads import unquote


class ImportFileError(Exception):
    """The file as a whole cannot be read: its type, its columns, no rows."""


# The import page's limits (the command takes any number of rows). A sheet that declares
# more rows or columns than a reader takes is refused before a row is built: openpyxl
# pads every row to the declared width, so "A1:XFD180001" would build 180,001 rows of
# 16,384 cells each.
IMPORT_MAX_BYTES = 1_000_000
IMPORT_MAX_ROWS = 1_000
MAX_COLUMNS = 64
# The longest cell a file may hold: twice the longest text field (TEXT_MAX_LENGTH). A
# longer one is a line error, and its text is not carried into the preview.
CELL_MAX_CHARS = 20_000
# What an XLSX file's parts may expand to, by the sizes its archive declares (a zip bomb
# of a few kilobytes can declare gigabytes of XML; Python's zipfile reads no more than
# declared): for the page, 32 times its upload limit (a real 1 MB file of text expands
# about ten times), for the command 200 MB. openpyxl reads the whole table of shared
# strings before any row, so for the page their number is capped too, at one per cell of
# the largest sheet it takes: a 150 KB file of twenty million empty strings would hold a
# worker far longer than a request may take.
XLSX_MAX_EXPANDED_BYTES = 200_000_000
PAGE_XLSX_MAX_EXPANDED_BYTES = 32 * IMPORT_MAX_BYTES
SHARED_STRING = re.compile(rb"<(?:[\w.-]+:)?si[\s/>]")

TOO_LONG = object()  # stands for a cell over CELL_MAX_CHARS


def read_table(name, content, columns, max_rows=None):
    """[(line number, {column: text})] for each data row of a file's bytes, the columns
    named by the header row (line 1), each one of `columns`; a column without a name is
    left out. A file with more than `max_rows` data rows (None: any number) is refused. A
    cell over CELL_MAX_CHARS is TOO_LONG (the importer reports it by line). Raises
    ImportFileError."""
    suffix = PurePath(name).suffix.lower()
    if suffix == ".xlsx":
        table = _xlsx_rows(content, max_rows)
    elif suffix == ".csv":
        table = _csv_rows(content)
    else:
        raise ImportFileError("give a .csv or .xlsx file.")
    header = next(table, None)
    if header is None:
        raise ImportFileError("no rows below the header.")
    header = [name.strip() if isinstance(name, str) else "" for name in header]
    unknown = set(header) - set(columns) - {""}
    if unknown:
        raise ImportFileError(f"unknown columns: {', '.join(sorted(unknown))}.")
    rows = []
    for line, values in enumerate(table, start=2):
        if not any(values):
            continue
        if max_rows is not None and len(rows) >= max_rows:
            raise ImportFileError(
                f"more than {max_rows:,} rows; the page takes up to {max_rows:,} at once."
            )
        rows.append(
            (line, {name: value for name, value in zip(header, values, strict=False) if name})
        )
    if not rows:
        raise ImportFileError("no rows below the header.")
    return rows


def _cell(text):
    return TOO_LONG if len(text) > CELL_MAX_CHARS else text


def _csv_rows(content):
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFileError("not a UTF-8 CSV file.") from None
    # csv refuses a field over its own (process-wide) limit, 131,072 characters by default,
    # with an error; no field can be longer than the file, so with the limit raised to the
    # file's length every cell is read, and one over CELL_MAX_CHARS is a line error.
    if csv.field_size_limit() <= len(text):
        csv.field_size_limit(len(text) + 1)
    reader = csv.reader(io.StringIO(text))
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as error:  # a line csv cannot split
            raise ImportFileError(f"line {reader.line_num}: {error}.") from None
        yield [_cell(unquote(value)) for value in values]


def _xlsx_rows(content, max_rows):
    _check_archive(content, max_rows)
    try:
        sheet = load_workbook(io.BytesIO(content), read_only=True, data_only=True).active
        rows, columns = sheet.max_row, sheet.max_column  # as declared (None: not declared)
    except Exception as error:  # a damaged or disguised file, whatever openpyxl says
        raise ImportFileError(f"not a readable XLSX file ({error}).") from None
    if columns is not None and columns > MAX_COLUMNS:
        raise ImportFileError(
            f"the sheet declares {columns:,} columns; at most {MAX_COLUMNS} are read."
        )
    if rows is not None and max_rows is not None and rows > max_rows + 1:
        raise ImportFileError(
            f"the sheet declares {rows - 1:,} rows below the header; the page takes up to "
            f"{max_rows:,} at once."
        )
    # Undeclared or lying sizes: never more columns than MAX_COLUMNS, nor (for the page)
    # more rows than one past the limit, which is enough to refuse the file.
    last_row = None if max_rows is None else max_rows + 2
    try:
        for values in sheet.iter_rows(
            max_col=columns or MAX_COLUMNS, max_row=last_row, values_only=True
        ):
            yield [_cell(_text(value)) for value in values]
    except Exception as error:  # noqa: BLE001 - whatever a damaged sheet raises mid-way
        raise ImportFileError(f"not a readable XLSX file ({error}).") from None


def _check_archive(content, max_rows):
    """Refuse an XLSX file whose parts would expand beyond what a reader takes, or (for
    the page, which takes `max_rows`) that holds more shared strings than cells."""
    limit = XLSX_MAX_EXPANDED_BYTES if max_rows is None else PAGE_XLSX_MAX_EXPANDED_BYTES
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        members = archive.infolist()
        expanded = sum(member.file_size for member in members)
        if expanded > limit:
            raise ImportFileError(
                f"its parts expand to {expanded:,} bytes; at most {limit:,} are read."
            )
        if max_rows is None:
            return
        cells = (max_rows + 1) * MAX_COLUMNS
        strings = sum(
            len(SHARED_STRING.findall(archive.read(member)))
            for member in members
            if member.filename.endswith(".xml")
        )
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        raise ImportFileError("not a readable XLSX file.") from None
    if strings > cells:
        raise ImportFileError(
            f"it holds {strings:,} shared strings; the page reads up to {cells:,}."
        )


def _text(cell):
    """A spreadsheet cell as the text the API takes: dates in ISO; text with the control
    characters that XLSX writes as `_xHHHH_` restored, and without the quote a download
    puts before a formula-like cell (Excel keeps that quote as text when it opens a CSV,
    so it can reach an XLSX file too)."""
    if cell is None:
        return ""
    if isinstance(cell, datetime.datetime):
        return cell.date().isoformat()
    if isinstance(cell, datetime.date):
        return cell.isoformat()
    return unquote(unescape(str(cell)))
