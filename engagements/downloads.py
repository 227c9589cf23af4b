"""CSV and XLSX responses for lists and reports: one header row, then the rows.

CSV is streamed row by row, so a download of the whole table never sits in memory.
"""

import csv
import datetime

from django.http import HttpResponse, StreamingHttpResponse
from openpyxl import Workbook

DOWNLOAD_FORMATS = ("csv", "xlsx")


class _Echo:
    def write(self, value):
        return value


def _cell(value):
    """The same text in both formats: ISO dates and times (with their UTC offset), empty for
    none."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    return value


def csv_response(filename, header, rows):
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow([_cell(value) for value in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


def xlsx_response(filename, header, rows):
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(filename[:31])
    sheet.append(header)
    for row in rows:
        sheet.append([_cell(value) for value in row])
    response = HttpResponse(
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
    workbook.save(response)
    return response


def download(request_format, filename, header, rows):
    """A CSV or XLSX response for `request_format` (one of DOWNLOAD_FORMATS)."""
    if request_format == "xlsx":
        return xlsx_response(filename, header, rows)
    return csv_response(filename, header, rows)
