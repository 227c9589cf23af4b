import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from partners.models import Membership, Partner
from roadmap.models import Challenge, Facet, Pillar, Tip

FIXTURES = Path(settings.BASE_DIR) / "fixtures"


class Command(BaseCommand):
    help = (
        "Load the roadmap (pillars, facets, tips, challenges) and the partner directory from "
        "fixtures/. Only missing rows are created: running it again changes nothing, and "
        "rows an admin has edited are never overwritten."
    )

    @transaction.atomic
    def handle(self, *args, **options):
        roadmap = json.loads((FIXTURES / "roadmap.json").read_text())
        directory = json.loads((FIXTURES / "partners.json").read_text())
        created = {
            "pillars": 0,
            "facets": 0,
            "tips": 0,
            "challenges": 0,
            "partners": 0,
            "memberships": 0,
        }

        for pillar_data in roadmap["pillars"]:
            facets = pillar_data.pop("facets")
            pillar, new = Pillar.objects.get_or_create(
                code=pillar_data.pop("code"), defaults=pillar_data
            )
            created["pillars"] += new
            for order, facet_data in enumerate(facets, start=1):
                _, new = Facet.objects.get_or_create(
                    code=facet_data.pop("code"),
                    defaults={**facet_data, "pillar": pillar, "order": order},
                )
                created["facets"] += new

        for tip_data in roadmap["tips"]:
            pillar_codes = tip_data.pop("pillars")
            tip, new = Tip.objects.get_or_create(number=tip_data.pop("number"), defaults=tip_data)
            if new:
                tip.pillars.set(Pillar.objects.filter(code__in=pillar_codes))
            created["tips"] += new

        for challenge_data in roadmap["challenges"]:
            _, new = Challenge.objects.get_or_create(
                code=challenge_data.pop("code"), defaults=challenge_data
            )
            created["challenges"] += new

        for partner_data in directory["partners"]:
            _, new = Partner.objects.get_or_create(
                code=partner_data.pop("code"), defaults=partner_data
            )
            created["partners"] += new

        partners = Partner.objects.in_bulk(field_name="code")
        for link in directory["memberships"]:
            organization = partners[link["organization"]]
            member = partners[link["member"]]
            # Any existing membership of this pair is the curated truth: leave it alone.
            if Membership.objects.filter(organization=organization, member=member).exists():
                continue
            Membership.objects.create(
                organization=organization, member=member, joined=link["joined"]
            )
            created["memberships"] += 1

        summary = ", ".join(f"{count} {name}" for name, count in created.items())
        self.stdout.write(f"Reference data loaded: created {summary}.")
