import getpass
import os
import sys

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email

from accounts.choices import Marking, Role
from accounts.roles import create_user_with_role


class Command(BaseCommand):
    help = (
        "Create a user with a role and a clearance. The password comes from "
        "DJANGO_USER_PASSWORD, or is asked for at the prompt."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, help="analyst, manager or admin")
        parser.add_argument("--clearance", default=Marking.NU, help="NU, NR, NC or NS")
        parser.add_argument("--email", default="", help="where the weekly digest goes")

    def handle(self, username, role, clearance, email, **options):
        if role not in Role.values:
            raise CommandError(f"Unknown role “{role}”: use one of {', '.join(Role.values)}.")
        if clearance not in Marking.values:
            raise CommandError(
                f"Unknown clearance “{clearance}”: use one of {', '.join(Marking.values)}."
            )
        if email:
            try:
                validate_email(email)
            except ValidationError:
                raise CommandError(f"“{email}” is not an email address.") from None
        if get_user_model().objects.filter(username__iexact=username).exists():
            raise CommandError(f"A user named “{username}” already exists.")

        password = os.environ.get("DJANGO_USER_PASSWORD") or self.ask_password()
        try:
            validate_password(password, get_user_model()(username=username))
        except ValidationError as error:
            raise CommandError("Password refused: " + " ".join(error.messages)) from error

        create_user_with_role(username, password, role, clearance, email=email)
        with_email = f" and email {email}" if email else ""
        self.stdout.write(f"Created {role} “{username}” with clearance {clearance}{with_email}.")

    def ask_password(self):
        if not sys.stdin.isatty():
            raise CommandError("No password: set DJANGO_USER_PASSWORD or run interactively.")
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Password (again): "):
            raise CommandError("The two passwords differ.")
        return password
