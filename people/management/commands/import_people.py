from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.choices import Marking
from core.tables import ImportFileError, read_table
from people.importer import COLUMNS, import_rows


class Command(BaseCommand):
    help = (
        "Import people from a CSV or XLSX file whose header row uses the API's field names "
        "(partner by code; affiliations as 'PARTNER|title|start|end' separated by ';'), as "
        "the people list downloads them. Every row is checked by the API's rules; a file "
        "with any bad row stores nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="check only; store nothing")
        parser.add_argument(
            "--user",
            help="import as this user: recorded as the one who entered them, and markings "
            "are capped at its clearance (default: nobody, any marking)",
        )

    def handle(self, file, dry_run, user, **options):
        importer = self.importer(user)
        if not file.exists():
            raise CommandError(f"{file}: no such file.")
        try:
            rows = read_table(file.name, file.read_bytes(), COLUMNS)
        except ImportFileError as error:
            raise CommandError(f"{file}: {error}") from None
        errors = import_rows(rows, importer, dry_run=dry_run)
        if errors:
            problems = [f"line {line}, {name}: {message}" for line, name, message in errors]
            raise CommandError(
                f"{file}: nothing imported; {len(problems)} problem(s):\n" + "\n".join(problems)
            )
        if dry_run:
            self.stdout.write(f"{file}: {len(rows)} rows are valid (dry run: nothing stored).")
        else:
            self.stdout.write(f"{file}: imported {len(rows)} people.")

    def importer(self, username):
        User = get_user_model()
        if not username:
            # Unsaved: recorded as nobody; may use every marking.
            return User(username="import", clearance=Marking.NS, is_superuser=True)
        try:
            return User.objects.get(username=username)
        except User.DoesNotExist:
            raise CommandError(f"No user named “{username}”.") from None
