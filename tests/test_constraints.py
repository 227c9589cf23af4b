"""Every invariant the database holds raises IntegrityError, even with forms bypassed."""

import datetime

import pytest
from django.db import IntegrityError, transaction

from accounts.models import User
from engagements.models import Engagement, EngagementPartner
from partners.models import Membership, Partner
from roadmap.models import Facet, Pillar, Tip, TipStatusUpdate
from tests.factories import make_engagement, make_partner

pytestmark = pytest.mark.usefixtures("reference_data")

DAY = datetime.date(2025, 3, 1)


def assert_refused(create):
    with pytest.raises(IntegrityError), transaction.atomic():
        create()


def engagement_fields(**overrides):
    fields = {"title": "Talks", "kind": "staff_talks", "status": "planned", "start_date": DAY}
    return {**fields, **overrides}


@pytest.mark.parametrize(
    "overrides",
    [
        {"end_date": DAY - datetime.timedelta(days=1)},
        {"marking": "XX"},
        {"kind": "picnic"},
        {"status": "postponed"},
        {"escalation_risk": "extreme"},
        {"version": 0},
        {"title": ""},
    ],
    ids=["end-before-start", "marking", "kind", "status", "risk", "version", "empty-title"],
)
def test_engagement_constraints(overrides):
    assert_refused(lambda: Engagement.objects.create(**engagement_fields(**overrides)))


def test_engagement_end_on_start_day_is_allowed():
    Engagement.objects.create(**engagement_fields(end_date=DAY))


def test_engagement_partner_is_unique_and_role_valid():
    engagement = make_engagement(partners=["JPN"])
    japan = Partner.objects.get(code="JPN")
    assert_refused(lambda: EngagementPartner.objects.create(engagement=engagement, partner=japan))
    korea = Partner.objects.get(code="KOR")
    assert_refused(
        lambda: EngagementPartner.objects.create(engagement=engagement, partner=korea, role="boss")
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"code": "JPN", "name": "Japan again"},
        {"code": "", "name": "Nameless"},
        {"code": "XYZ", "name": "X", "kind": "company"},
        {"code": "XYZ", "name": "X", "region": "atlantis"},
    ],
    ids=["duplicate-code", "empty-code", "kind", "region"],
)
def test_partner_constraints(fields):
    values = {"kind": "state", "region": "oceania", **fields}
    assert_refused(lambda: Partner.objects.create(**values))


def test_membership_constraints():
    asean = Partner.objects.get(code="ASEAN")
    japan = Partner.objects.get(code="JPN")
    indonesia = Partner.objects.get(code="IDN")
    assert_refused(
        lambda: Membership.objects.create(
            organization=asean, member=japan, joined=DAY, left=DAY - datetime.timedelta(days=1)
        )
    )
    assert_refused(lambda: Membership.objects.create(organization=asean, member=asean, joined=DAY))
    # Indonesia already holds an open membership of ASEAN from the reference data.
    assert_refused(
        lambda: Membership.objects.create(organization=asean, member=indonesia, joined=DAY)
    )
    Membership.objects.create(organization=asean, member=japan, joined=DAY, left=DAY)
    assert_refused(
        lambda: Membership.objects.create(
            organization=asean, member=japan, joined=DAY, left=DAY + datetime.timedelta(days=9)
        )
    )


def test_roadmap_constraints():
    assert_refused(lambda: Pillar.objects.create(code="dialogue", name="Again", order=9))
    assert_refused(lambda: Pillar.objects.create(code="new", name="Same order", order=1))
    dialogue = Pillar.objects.get(code="dialogue")
    assert_refused(
        lambda: Facet.objects.create(pillar=dialogue, code="dialogue.exercises", name="X", order=9)
    )
    assert_refused(lambda: Facet.objects.create(pillar=dialogue, code="new", name="X", order=1))
    assert_refused(lambda: Tip.objects.create(number=1, code="again", title="Again"))
    assert_refused(lambda: Tip.objects.create(number=0, code="zero", title="Zero"))
    tip = Tip.objects.get(number=1)
    assert_refused(lambda: TipStatusUpdate.objects.create(tip=tip, status="vague"))


def test_user_clearance_is_one_of_the_markings():
    assert_refused(lambda: User.objects.create(username="x", clearance="TS"))


def test_membership_clean_refuses_overlap_and_non_organizations():
    asean = Partner.objects.get(code="ASEAN")
    japan = Partner.objects.get(code="JPN")
    Membership.objects.create(
        organization=asean, member=japan, joined=datetime.date(2020, 1, 1), left=DAY
    )
    overlapping = Membership(organization=asean, member=japan, joined=datetime.date(2024, 1, 1))
    with pytest.raises(Exception, match="overlaps"):
        overlapping.full_clean()
    after = Membership(organization=asean, member=japan, joined=DAY)
    after.full_clean()  # starts the day the other one ended: no overlap
    state = make_partner(kind="state")
    with pytest.raises(Exception, match="Only an organization"):
        Membership(organization=japan, member=state, joined=DAY).full_clean()
