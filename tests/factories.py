"""Plain factory functions with sensible defaults (see STYLE.md)."""

import datetime
import itertools

from rest_framework.test import APIClient

from accounts.choices import Marking, Role
from accounts.roles import create_user_with_role
from engagements import summaries
from engagements.choices import EngagementKind, EngagementStatus, PartnerRole
from engagements.models import Engagement, EngagementPartner
from partners.models import Partner
from roadmap.models import Facet, Pillar, Tip

PASSWORD = "a-long-test-password-1"
_sequence = itertools.count(1)


def make_user(role=Role.ANALYST, clearance=Marking.NU, username=None):
    username = username or f"{role}-{clearance}-{next(_sequence)}".lower()
    return create_user_with_role(username, PASSWORD, role, clearance)


def make_partner(**fields):
    number = next(_sequence)
    fields.setdefault("code", f"P{number}")
    fields.setdefault("name", f"Partner {number}")
    fields.setdefault("kind", "state")
    fields.setdefault("region", "southeast_asia")
    return Partner.objects.create(**fields)


def make_engagement(partners=("JPN",), pillars=("dialogue",), facets=(), tips=(), **fields):
    """An engagement linked to partners, pillars and facets given by code, tips by number.

    The first partner is the lead, the others participants.
    """
    fields.setdefault("title", f"Engagement {next(_sequence)}")
    fields.setdefault("kind", EngagementKind.STAFF_TALKS)
    fields.setdefault("status", EngagementStatus.COMPLETED)
    fields.setdefault("start_date", datetime.date(2025, 6, 1))
    fields.setdefault("marking", Marking.NU)
    engagement = Engagement.objects.create(**fields)
    for position, code in enumerate(partners):
        partner = code if isinstance(code, Partner) else Partner.objects.get(code=code)
        EngagementPartner.objects.create(
            engagement=engagement,
            partner=partner,
            role=PartnerRole.LEAD if position == 0 else PartnerRole.PARTICIPANT,
        )
    engagement.pillars.set(Pillar.objects.filter(code__in=pillars))
    engagement.facets.set(Facet.objects.filter(code__in=facets))
    engagement.tips.set(Tip.objects.filter(number__in=tips))
    # Written directly (quicker than the write service, no history): count it in reports.
    summaries.refresh_slices([(engagement.start_date, engagement.status, engagement.marking)])
    return engagement


def api_client(user=None):
    """An API client signed in as `user` (anonymous without one)."""
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client
