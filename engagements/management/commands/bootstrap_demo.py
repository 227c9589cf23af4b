import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from accounts.choices import Marking, Role
from accounts.roles import create_user_with_role
from engagements.demo import seed_engagements
from engagements.models import Engagement

DEMO_ACCOUNTS = [
    ("analyst", Role.ANALYST, Marking.NR),
    ("manager", Role.MANAGER, Marking.NC),
    ("admin", Role.ADMIN, Marking.NS),
]


class Command(BaseCommand):
    help = (
        "On a new database (no users yet): create one demo account per role, print their "
        "passwords once, and add demo engagements. Does nothing on a database in use."
    )

    def add_arguments(self, parser):
        parser.add_argument("--engagements", type=int, default=2000)

    def handle(self, engagements, **options):
        if get_user_model().objects.exists():
            self.stdout.write(
                "Database already has users: no demo data added. Sign in at the address "
                "below as analyst, manager or admin (their passwords were printed on the "
                "first run). A new password: make password NAME=analyst. Fresh demo data: "
                "make demo-reset."
            )
            return
        lines = []
        for username, role, clearance in DEMO_ACCOUNTS:
            password = secrets.token_urlsafe(12)
            create_user_with_role(username, password, role, clearance)
            lines.append(f"  {username:<8} {password}   ({role}, clearance {clearance})")
        if not Engagement.objects.exists():
            seed_engagements(engagements)
        self.stdout.write(
            self.style.SUCCESS("Demo accounts (shown only this once):")
            + "\n"
            + "\n".join(lines)
            + f"\n{Engagement.objects.count()} demo engagements loaded. Sign in at the address "
            "below as one of them: the dashboard shows what needs that role first."
        )
