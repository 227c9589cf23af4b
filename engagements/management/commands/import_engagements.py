from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.choices import Marking
from engagements.importer import ImportFileError, import_rows, read_table


class Command(BaseCommand):
    help = (
        "Import engagements from a CSV or XLSX file whose header row uses the API's field "
        "names (partners, pillars, facets, tips separated by ';'; partners by code or "
        "name). Every row is checked by the same rules as the API and the form; a file "
        "with any bad row stores nothing. The import page (/engagements/import/) does "
        "the same (engagements.importer)."
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
        if not file.exists():
            raise CommandError(f"{file}: no such file.")
        try:
            rows = read_table(file.name, file.read_bytes())
        except ImportFileError as error:
            raise CommandError(f"{file}: {error}") from None
        result = import_rows(rows, importer, dry_run=dry_run)
        if result.errors:
            problems = [f"line {line}, {name}: {message}" for line, name, message in result.errors]
            raise CommandError(
                f"{file}: nothing imported; {len(problems)} problem(s):\n" + "\n".join(problems)
            )
        if dry_run:
            self.stdout.write(f"{file}: {len(rows)} rows are valid (dry run: nothing stored).")
            return
        self.stdout.write(f"{file}: imported {len(rows)} engagements.")

    def importer(self, username):
        User = get_user_model()
        if not username:
            # Unsaved: recorded as nobody; may use every marking.
            return User(username="import", clearance=Marking.NS, is_superuser=True)
        try:
            return User.objects.get(username=username)
        except User.DoesNotExist:
            raise CommandError(f"No user named “{username}”.") from None
