"""Importing engagements from a CSV or XLSX file, for `manage.py import_engagements` and
the import page (`/engagements/import/`) alike.

The header row uses the API's field names; partners, pillars, facets and tips are lists
separated by ";". A partner may be given by its code or by its name or another name
("Vietnam", "Lao PDR"). Every row is parsed by the API's serializer and stored by the one
write service, so the rules are the API's and the form's. A file with any bad row stores
nothing.
"""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from rest_framework import serializers

from accounts.choices import Marking
from core import tables
from core.tables import (  # noqa: F401 (the import page and the command read them here)
    CELL_MAX_CHARS,
    IMPORT_MAX_BYTES,
    IMPORT_MAX_ROWS,
    TOO_LONG,
    ImportFileError,
)
from engagements import summaries
from engagements.api import EngagementSerializer
from engagements.exports import EXPORT_FIELDS
from partners.models import Partner

MANY_VALUED = ("partners", "pillars", "facets", "tips", "people")
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


@dataclass
class ImportResult:
    rows: int = 0
    errors: list = field(default_factory=list)  # [(line, field, message)]
    created: list = field(default_factory=list)  # [{line, title, …}] for the good rows
    stored: bool = False


def read_table(name, content, max_rows=None):
    """The rows of an engagement file (core.tables.read_table), the lists split at ";"."""
    columns = EngagementSerializer.Meta.fields
    rows = tables.read_table(name, content, columns, max_rows)
    return [(line, _row(values)) for line, values in rows]


def _row(values):
    row = {}
    for name, value in values.items():
        if name in IGNORED:
            continue
        if value is TOO_LONG:
            row[name] = TOO_LONG
        elif name in MANY_VALUED:
            row[name] = [item.strip() for item in value.split(";") if item.strip()]
        elif not (name == "end_date" and value == ""):  # an empty end date: none
            row[name] = value
    return row


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
