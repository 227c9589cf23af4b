"""Importing engagements from a CSV or XLSX file, for `manage.py import_engagements` and
the import page (`/engagements/import/`) alike.

The header row uses the API's field names; partners, pillars, facets and tips are lists
separated by ";". A partner may be given by its code or by its name or another name
("Vietnam", "Lao PDR"). Every row is parsed by the API's serializer and stored by the one
write service, so the rules are the API's and the form's. A file with any bad row stores
nothing.
"""

import csv
import datetime
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePath

from django.core.exceptions import ValidationError
from django.db import transaction
from openpyxl import load_workbook
from openpyxl.utils.escape import unescape
from rest_framework import serializers

from accounts.choices import Marking
from core.downloads import unquote
from engagements import summaries
from engagements.api import EngagementSerializer
from engagements.exports import EXPORT_FIELDS
from partners.models import Partner

MANY_VALUED = ("partners", "pillars", "facets", "tips")
IGNORED = ("id", "created_by", "created_at", "updated_at", "version")
# The columns a file gives (the list's downloads have these and the ignored ones).
COLUMNS = [name for name in EXPORT_FIELDS if name not in IGNORED]
# The template's example row: names work where codes do.
EXAMPLE = {
    "title": "Maritime domain awareness staff talks",
    "kind": "staff_talks",
    "status": "planned",
    "start_date": "2027-03-01",
    "end_date": "2027-03-02",
    "location": "Hanoi",
    "partners": "Vietnam; JPN",
    "pillars": "Shared Security Concerns",
    "facets": "Maritime Security",
    "tips": "1; 2",
    "marking": "NU",
    "escalation_risk": "low",
    "summary": "Second round of staff talks on sharing a maritime picture.",
    "outcomes": "",
}
FORMATS = (".csv", ".xlsx")


class ImportFileError(Exception):
    """The file as a whole cannot be read: its type, its columns, no rows."""


@dataclass
class ImportResult:
    rows: int = 0
    errors: list = field(default_factory=list)  # [(line, field, message)]
    created: list = field(default_factory=list)  # [{line, title, …}] for the good rows
    stored: bool = False


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


def read_table(name, content, max_rows=None):
    """[(line number, {field: value})] for each data row of a file's bytes; line 1 is the
    header. A file with more than `max_rows` data rows (None: any number) is refused.
    A cell over CELL_MAX_CHARS is TOO_LONG (`import_rows` reports it by line). Raises
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
    unknown = set(header) - set(EngagementSerializer.Meta.fields) - {""}
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
        rows.append((line, _row(header, values)))
    if not rows:
        raise ImportFileError("no rows below the header.")
    return rows


def _row(header, values):
    row = {}
    for name, value in zip(header, values, strict=False):
        if name in IGNORED or not name:  # a column without a name holds nothing to import
            continue
        if value is TOO_LONG:
            row[name] = TOO_LONG
        elif name in MANY_VALUED:
            row[name] = [item.strip() for item in value.split(";") if item.strip()]
        elif not (name == "end_date" and value == ""):  # an empty end date: none
            row[name] = value
    return row


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


def import_rows(rows, user, dry_run=False, valid_only=False):
    """Check every row and store them all, or none if any is bad (or on a dry run); with
    `valid_only`, store the good rows and report the others.

    Every row is written through the one write service inside one transaction, each in a
    savepoint: a rule only the write can check (such as one lead partner) is reported like
    any other, and the transaction is rolled back unless every row was stored (or only the
    good ones were asked for) and this is not a dry run. The result lists what was (or
    would be) created, row by row.
    """
    result = ImportResult(rows=len(rows))
    names = known_names()
    serializer = EngagementSerializer(context={"user": user, "known": {}})
    with transaction.atomic(), summaries.deferred_refresh(apply=not dry_run):
        for line, row in rows:
            too_long = [name for name, value in row.items() if value is TOO_LONG]
            if too_long:
                message = f"Longer than {CELL_MAX_CHARS:,} characters."
                result.errors += [(line, name, message) for name in too_long]
                continue
            row = {
                name: [names[name].get(v.casefold(), v) for v in value] if name in names else value
                for name, value in row.items()
            }
            errors, stored = _store(serializer, row)
            for name, messages in errors.items():
                result.errors += [(line, name, message) for message in messages]
            if stored is not None:
                result.created.append(_summary(line, *stored))
        if dry_run or (result.errors and not valid_only):
            transaction.set_rollback(True)
    result.stored = not dry_run and (valid_only or not result.errors)
    return result


def known_names():
    """For each relation, {name, code or other name, case-folded: the code the API takes}:
    partners by code, name or another name ("Vietnam", "Lao PDR"), pillars and facets by
    code or name ("Emergency Response"), tips by number, code or title. A name two rows
    share is left out (the row then says no such code exists)."""
    from roadmap.models import Facet, Pillar, Tip

    def table(rows):
        found = {}
        for value, names in rows:
            for name in names:
                key = str(name).casefold()
                found[key] = None if found.get(key, value) != value else value
        return {key: value for key, value in found.items() if value is not None}

    return {
        "partners": table(
            (partner.code, [partner.code, partner.name, *partner.alias_list])
            for partner in Partner.objects.all()
        ),
        "pillars": table((p.code, [p.code, p.name]) for p in Pillar.objects.all()),
        "facets": table((f.code, [f.code, f.name]) for f in Facet.objects.all()),
        "tips": table((str(t.number), [t.number, t.code, t.title]) for t in Tip.objects.all()),
    }


def _store(serializer, row):
    """Parse and write one row: ({field: [messages]}, None), or ({}, (the engagement, its
    partners and pillars as stored)). One serializer parses every row of a file (its
    fields are built, and its partners, pillars, facets and tips read, once)."""
    try:
        data = serializer.run_validation(row)
    except serializers.ValidationError as error:
        return serializers.as_serializer_error(error), None
    try:  # the write service's own savepoint undoes a refused row
        engagement = serializer.create(dict(data))
    except ValidationError as error:
        return error.message_dict, None
    return {}, (engagement, data["partners"], data["pillars"])


def _summary(line, engagement, partners, pillars):
    """A row of the preview, from what was stored (an import gives no partner roles: each
    takes part; the pillars in the roadmap's order)."""
    return {
        "line": line,
        "title": engagement.title,
        "kind": engagement.get_kind_display(),
        "status": engagement.get_status_display(),
        "start_date": engagement.start_date,
        "end_date": engagement.end_date,
        "partners": [partner.name for partner in partners],
        "pillars": [pillar.name for pillar in sorted(pillars, key=lambda p: p.order)],
        "marking": engagement.marking,
    }


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


def highest_marking_in(rows):
    """The highest marking a file's rows are marked with (as read: `marking` cells that
    name one), NU when none does: what a page or a file showing them is marked."""
    cells = (row.get("marking") for _, row in rows)
    return Marking.highest(
        cell.strip().upper()
        for cell in cells
        if isinstance(cell, str) and cell.strip().upper() in Marking.values
    )


def by_line(rows, result):
    """The preview: for every row its line, title, what it would create and its problems."""
    created = {item["line"]: item for item in result.created}
    problems = {}
    for line, name, message in result.errors:
        problems.setdefault(line, []).append((name, message))
    return [
        {
            "line": line,
            "title": "" if row.get("title") is TOO_LONG else row.get("title", ""),
            "created": created.get(line),
            "problems": problems.get(line, []),
        }
        for line, row in rows
    ]
