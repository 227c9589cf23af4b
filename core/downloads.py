"""CSV and XLSX responses for lists and reports: one header row, then the rows.

Both hand a spreadsheet values, never formulas (CONTRACT.md, "Downloads"), and this is the
one place that makes sure of it:

- CSV is text. A cell a spreadsheet would take for a formula (it begins with `=`, `+`, `-`,
  `@`, a tab or a carriage return) is written with a leading `'`; `unquote()` takes it off
  again when a file is imported. Dates are ISO text, times ISO with their UTC offset.
- XLSX cells are typed: text is written as string cells (never read as a formula, so it
  needs no quote), numbers as numbers, dates as dates and times as date-times in UTC
  (Excel has no time zones). The header row is bold and frozen; column widths follow the
  header and the first rows.

CSV is streamed a few hundred rows at a time; on PostgreSQL the engagement export's lines
are written by the database itself (`exports.copy_csv()`, byte for byte the same). XLSX
is written by XlsxWriter in constant-memory mode (each row goes to a temporary file as
soon as it is complete), so a download of the whole table never holds the table in
memory.
"""

import csv
import datetime
import decimal
import io

import xlsxwriter
from django.http import HttpResponse, StreamingHttpResponse

DOWNLOAD_FORMATS = ("csv", "xlsx")

# What makes a spreadsheet read a cell as a formula (OWASP's list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _needs_quote(text):
    """Text a spreadsheet would read as a formula, also behind leading quotes: "'=1" gets
    one more quote too, so that `unquote()` gives back exactly what was written."""
    return text.lstrip("'").startswith(FORMULA_STARTS)


def csv_text(text):
    """`text` as a CSV cell that no spreadsheet evaluates."""
    return "'" + text if _needs_quote(text) else text


def unquote(text):
    """Undo `csv_text()`: drop the one leading `'` it put before a formula-like cell."""
    if text.startswith("'") and _needs_quote(text[1:]):
        return text[1:]
    return text


def _csv_cell(value):
    if value is None:
        return ""
    if isinstance(value, str):
        return csv_text(value)
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    return value


# Rows written per piece of the streamed response: one write per row costs more than
# the rows themselves.
CSV_BATCH = 500


def csv_response(filename, header, rows, on_done=None):
    """`rows` that can write their own CSV lines (`csv_chunks()`, the engagement export on
    PostgreSQL) do so, after the header written here, and count them (`count`); others are
    written row by row. `on_done(rows written)` runs once the last line has gone."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    written = rows.csv_chunks() if hasattr(rows, "csv_chunks") else None

    def lines():
        writer.writerow(header)
        if written is not None:
            yield buffer.getvalue()
            yield from written
            if on_done is not None:
                on_done(rows.count)
            return
        number = 0
        for number, row in enumerate(rows, start=1):
            writer.writerow([_csv_cell(value) for value in row])
            if number % CSV_BATCH == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()
        if on_done is not None:
            on_done(number)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


# Column widths are measured over the header and this many rows, and capped.
WIDTH_SAMPLE_ROWS = 200
MAX_WIDTH = 60
# A job's progress is recorded every this many rows.
STEP_ROWS = 5000


def write_xlsx(output, sheet_name, header, rows, marking=None, step=None):
    """Write a workbook of one sheet to `output` (a file object or a path) and return how
    many rows it holds. `marking` (a label, "NATO SECRET") goes into the sheet's header and
    footer; `step(rows written)` is called every STEP_ROWS rows (a job's progress)."""
    workbook = xlsxwriter.Workbook(
        output,
        {
            "constant_memory": True,
            # Only the explicit write_*() calls below are used; these say the same again.
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    bold = workbook.add_format({"bold": True})
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    time_format = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    sheet = workbook.add_worksheet(sheet_name[:31])
    sheet.freeze_panes(1, 0)
    if marking:  # centred, in the bold of the sheet's font
        sheet.set_header(f'&C&"-,Bold"{marking}')
        sheet.set_footer(f'&C&"-,Bold"{marking}')
    widths = [len(str(name)) for name in header]
    for column, name in enumerate(header):
        sheet.write_string(0, column, str(name), bold)

    number, rows_written = 0, False
    for number, row in enumerate(rows, start=1):
        rows_written = True
        for column, value in enumerate(row):
            if value is None or value == "":
                continue
            if isinstance(value, str):
                # A string cell is never a formula; only a text that `unquote()` would
                # change on import gets a quote, so that it imports back unchanged.
                text = "'" + value if value.startswith("'") and _needs_quote(value) else value
                sheet.write_string(number, column, text)
                width = len(text)
            elif isinstance(value, datetime.datetime):
                if value.tzinfo is not None:
                    value = value.astimezone(datetime.UTC).replace(tzinfo=None)
                sheet.write_datetime(number, column, value, time_format)
                width = 19
            elif isinstance(value, datetime.date):
                sheet.write_datetime(number, column, value, date_format)
                width = 10
            elif isinstance(value, bool):
                sheet.write_boolean(number, column, value)
                width = 5
            elif isinstance(value, int | float | decimal.Decimal):
                sheet.write_number(number, column, value)
                width = len(str(value))
            else:
                text = str(value)
                sheet.write_string(number, column, text)
                width = len(text)
            if number <= WIDTH_SAMPLE_ROWS and width > widths[column]:
                widths[column] = width
        if step is not None and number % STEP_ROWS == 0:
            step(number)
    for column, width in enumerate(widths):
        sheet.set_column(column, column, min(width, MAX_WIDTH) + 2)
    workbook.close()
    return number if rows_written else 0


def xlsx_response(filename, header, rows, marking=None, on_done=None):
    """An XLSX file of `rows`, written in memory while the request waits (a long list is
    written by a background job instead, `engagements.tasks.export_xlsx`)."""
    output = io.BytesIO()
    written = write_xlsx(output, filename, header, rows, marking)
    if on_done is not None:
        on_done(written)

    response = HttpResponse(
        output.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
    return response


def download(request_format, filename, header, rows, marking=None, on_done=None):
    """A CSV or XLSX response for `request_format` (one of DOWNLOAD_FORMATS). With
    `marking` ((code, label): the highest marking in the file), the file's name ends with
    its code (`engagements-NS.csv`) and an XLSX sheet carries its label in its header and
    footer. `on_done(rows)` runs once every row is written (the audit trail's entry)."""
    if marking is not None:
        code, label = marking
        filename, marking = f"{filename}-{code}", label
    if request_format == "xlsx":
        return xlsx_response(filename, header, rows, marking, on_done)
    return csv_response(filename, header, rows, on_done)
