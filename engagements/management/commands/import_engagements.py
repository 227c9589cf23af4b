import csv
import datetime
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from openpyxl import load_workbook
from openpyxl.utils.escape import unescape

from accounts.choices import Marking
from engagements.api import EngagementSerializer
from engagements.downloads import unquote

MANY_VALUED = ("partners", "pillars", "facets", "tips")
IGNORED = ("id", "created_by", "created_at", "updated_at", "version")


class Command(BaseCommand):
    help = (
        "Import engagements from a CSV or XLSX file whose header row uses the API's field "
        "names (partners, pillars, facets, tips separated by ';'). Every row is checked by "
        "the same rules as the API and the form; a file with any bad row stores nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="check only; store nothing")
        parser.add_argument(
            "--user",
            help="import as this user: recorded as creator, and markings are capped at its "
            "clearance (default: no creator, any marking)",
        )

    def handle(self, file, dry_run, user, **options):
        importer = self.importer(user)
        rows = list(self.read(file))
        if not rows:
            raise CommandError(f"{file}: no rows below the header.")
        errors = []
        # Every row is written through the one write service inside one transaction, each
        # in a savepoint: a rule that only the write can check (such as one lead partner)
        # is reported like any other, and the transaction is rolled back unless every row
        # was stored and this is not a dry run.
        with transaction.atomic():
            for line, row in rows:
                for field, messages in self.store(row, importer).items():
                    errors += [f"line {line}, {field}: {message}" for message in messages]
            if errors or dry_run:
                transaction.set_rollback(True)
        if errors:
            raise CommandError(
                f"{file}: nothing imported; {len(errors)} problem(s):\n" + "\n".join(errors)
            )
        if dry_run:
            self.stdout.write(f"{file}: {len(rows)} rows are valid (dry run: nothing stored).")
            return
        self.stdout.write(f"{file}: imported {len(rows)} engagements.")

    @staticmethod
    def store(row, importer):
        """Parse and write one row; its errors as {field: [messages]} (none: stored)."""
        serializer = EngagementSerializer(data=row, context={"user": importer})
        if not serializer.is_valid():
            return serializer.errors
        try:
            with transaction.atomic():
                serializer.save()
        except ValidationError as error:
            return error.message_dict
        return {}

    def importer(self, username):
        User = get_user_model()
        if not username:
            # Unsaved: recorded as nobody; may use every marking.
            return User(username="import", clearance=Marking.NS, is_superuser=True)
        try:
            return User.objects.get(username=username)
        except User.DoesNotExist:
            raise CommandError(f"No user named “{username}”.") from None

    def read(self, file):
        """(line number, {field: value}) for each data row; line 1 is the header."""
        if not file.exists():
            raise CommandError(f"{file}: no such file.")
        if file.suffix.lower() == ".xlsx":
            sheet = load_workbook(file, read_only=True, data_only=True).active
            table = [[_text(cell) for cell in row] for row in sheet.iter_rows(values_only=True)]
        elif file.suffix.lower() == ".csv":
            with file.open(newline="", encoding="utf-8-sig") as handle:
                table = [[unquote(cell) for cell in row] for row in csv.reader(handle)]
        else:
            raise CommandError(f"{file}: give a .csv or .xlsx file.")
        if not table:
            return
        header = [name.strip() for name in table[0]]
        unknown = set(header) - set(EngagementSerializer.Meta.fields)
        if unknown:
            raise CommandError(f"{file}: unknown columns: {', '.join(sorted(unknown))}.")
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
            yield line, row


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
