"""What the import commands share (`import_engagements`, `import_people`): a FILE (CSV or
XLSX), --dry-run, --user (whose clearance caps the markings, recorded as the writer), and
problems reported by line and field, nothing of a file with a bad row stored."""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.choices import Marking
from core.tables import ImportFileError


class ImportCommand(BaseCommand):
    noun = "rows"  # what a file holds, for the messages

    def read(self, name, content):
        """The file's rows ([(line, row)]); raises ImportFileError."""
        raise NotImplementedError

    def store(self, rows, user, dry_run):
        """Check the rows and store them all as `user` (none on a dry run, or if any is
        bad): [(line, field, message)]."""
        raise NotImplementedError

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="check only; store nothing")
        parser.add_argument(
            "--user",
            help="import as this user: recorded as the writer, and markings are capped at its "
            "clearance (default: nobody, any marking)",
        )

    def handle(self, file, dry_run, user, **options):
        importer = self.importer(user)
        if not file.exists():
            raise CommandError(f"{file}: no such file.")
        try:
            rows = self.read(file.name, file.read_bytes())
        except ImportFileError as error:
            raise CommandError(f"{file}: {error}") from None
        errors = self.store(rows, importer, dry_run)
        if errors:
            problems = [f"line {line}, {name}: {message}" for line, name, message in errors]
            raise CommandError(
                f"{file}: nothing imported; {len(problems)} problem(s):\n" + "\n".join(problems)
            )
        if dry_run:
            self.stdout.write(f"{file}: {len(rows)} rows are valid (dry run: nothing stored).")
        else:
            self.stdout.write(f"{file}: imported {len(rows)} {self.noun}.")

    def importer(self, username):
        User = get_user_model()
        if not username:
            # Unsaved: recorded as nobody; may use every marking.
            return User(username="import", clearance=Marking.NS, is_superuser=True)
        try:
            return User.objects.get(username=username)
        except User.DoesNotExist:
            raise CommandError(f"No user named “{username}”.") from None
