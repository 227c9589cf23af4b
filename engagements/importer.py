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
from dataclasses import dataclass, field
from pathlib import PurePath

from django.core.exceptions import ValidationError
from django.db import transaction
from openpyxl import load_workbook
from openpyxl.utils.escape import unescape

from engagements.api import EngagementSerializer
from engagements.downloads import unquote
from partners.models import Partner

MANY_VALUED = ("partners", "pillars", "facets", "tips")
IGNORED = ("id", "created_by", "created_at", "updated_at", "version")
FORMATS = (".csv", ".xlsx")


class ImportFileError(Exception):
    """The file as a whole cannot be read: its type, its columns, no rows."""


@dataclass
class ImportResult:
    rows: int = 0
    errors: list = field(default_factory=list)  # [(line, field, message)]
    created: list = field(default_factory=list)  # [{line, title, …}] for the good rows
    stored: bool = False


def read_table(name, content):
    """[(line number, {field: value})] for each data row of a file's bytes; line 1 is the
    header. Raises ImportFileError."""
    suffix = PurePath(name).suffix.lower()
    if suffix == ".xlsx":
        try:
            sheet = load_workbook(io.BytesIO(content), read_only=True, data_only=True).active
            table = [[_text(cell) for cell in row] for row in sheet.iter_rows(values_only=True)]
        except Exception as error:  # a damaged or disguised file, whatever openpyxl says
            raise ImportFileError(f"not a readable XLSX file ({error}).") from None
    elif suffix == ".csv":
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ImportFileError("not a UTF-8 CSV file.") from None
        table = [[unquote(cell) for cell in row] for row in csv.reader(io.StringIO(text))]
    else:
        raise ImportFileError("give a .csv or .xlsx file.")
    if not table:
        raise ImportFileError("no rows below the header.")
    header = [name.strip() for name in table[0]]
    unknown = set(header) - set(EngagementSerializer.Meta.fields)
    if unknown:
        raise ImportFileError(f"unknown columns: {', '.join(sorted(unknown))}.")
    rows = []
    for line, values in enumerate(table[1:], start=2):
        if not any(values):
            continue
        row = {}
        for name, value in zip(header, values, strict=False):
            if name in IGNORED:
                continue
            if name in MANY_VALUED:
                row[name] = [item.strip() for item in value.split(";") if item.strip()]
            elif not (name == "end_date" and value == ""):  # an empty end date: none
                row[name] = value
        rows.append((line, row))
    if not rows:
        raise ImportFileError("no rows below the header.")
    return rows


def import_rows(rows, user, dry_run=False):
    """Check every row and store them all, or none if any is bad (or on a dry run).

    Every row is written through the one write service inside one transaction, each in a
    savepoint: a rule only the write can check (such as one lead partner) is reported like
    any other, and the transaction is rolled back unless every row was stored and this is
    not a dry run. The result lists what was (or would be) created, row by row.
    """
    result = ImportResult(rows=len(rows))
    codes = partner_codes()
    with transaction.atomic():
        for line, row in rows:
            if "partners" in row:
                row = {**row, "partners": [codes.get(v.casefold(), v) for v in row["partners"]]}
            errors, engagement = _store(row, user)
            for name, messages in errors.items():
                result.errors += [(line, name, message) for message in messages]
            if engagement is not None:
                result.created.append(_summary(line, engagement))
        if result.errors or dry_run:
            transaction.set_rollback(True)
    result.stored = not (result.errors or dry_run)
    return result


def partner_codes():
    """{code, name or other name, case-folded: code}; a name two partners share is left
    out (the row then says no partner has it)."""
    found = {}
    for partner in Partner.objects.all():
        for name in {partner.name, *partner.alias_list}:
            key = name.casefold()
            found[key] = None if found.get(key, partner.code) != partner.code else partner.code
    found.update({code.casefold(): code for code in Partner.objects.values_list("code", flat=True)})
    return {key: code for key, code in found.items() if code}


def _store(row, user):
    """Parse and write one row: ({field: [messages]}, None) or ({}, the engagement)."""
    serializer = EngagementSerializer(data=row, context={"user": user})
    if not serializer.is_valid():
        return serializer.errors, None
    try:
        with transaction.atomic():
            return {}, serializer.save()
    except ValidationError as error:
        return error.message_dict, None


def _summary(line, engagement):
    links = engagement.partner_links.select_related("partner")
    return {
        "line": line,
        "title": engagement.title,
        "kind": engagement.get_kind_display(),
        "status": engagement.get_status_display(),
        "start_date": engagement.start_date,
        "end_date": engagement.end_date,
        "partners": [
            link.partner.name + ("" if link.role == "participant" else f" ({link.role})")
            for link in links
        ],
        "pillars": [pillar.name for pillar in engagement.pillars.order_by("order")],
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


def by_line(rows, result):
    """The preview: for every row its line, title, what it would create and its problems."""
    created = {item["line"]: item for item in result.created}
    problems = {}
    for line, name, message in result.errors:
        problems.setdefault(line, []).append((name, message))
    return [
        {
            "line": line,
            "title": row.get("title", ""),
            "created": created.get(line),
            "problems": problems.get(line, []),
        }
        for line, row in rows
    ]
