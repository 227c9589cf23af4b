import datetime
import io

import pytest
from django.core.management import call_command

from partners.models import Membership, Partner
from roadmap.models import Challenge, Facet, Pillar, Tip

CONTRACT_FACETS = {
    "dialogue": ["dialogue.partnerships", "dialogue.exercises", "dialogue.information-sharing"],
    "security": ["security.maritime", "security.cyber", "security.wmd"],
    "economic": ["economic.trade", "economic.infrastructure", "economic.technology"],
    "hadr": ["hadr.emergency-response", "hadr.capacity-building", "hadr.coordination"],
}
CONTRACT_TIPS = [
    (1, "strengthen-partnerships", "Strengthen Existing Partnerships"),
    (2, "information-sharing", "Invest in Information Sharing"),
    (3, "economic-cooperation", "Promote Economic Cooperation"),
    (4, "capacity-building", "Focus on Capacity Building"),
    (5, "civil-society", "Engage with Civil Society"),
    (6, "avoid-provocation", "Avoid Provocative Actions"),
]
ASEAN_MEMBERS = {"BRN", "KHM", "IDN", "LAO", "MYS", "MMR", "PHL", "SGP", "THA", "TLS", "VNM"}


def snapshot():
    return {
        model.__name__: sorted(map(repr, model.objects.values()))
        for model in (Pillar, Facet, Tip, Challenge, Partner, Membership)
    } | {"tip_pillars": sorted(Tip.pillars.through.objects.values_list("tip_id", "pillar_id"))}


def test_it_loads_exactly_the_contracts_roadmap(reference_data):
    assert list(Pillar.objects.values_list("code", flat=True)) == list(CONTRACT_FACETS)
    for pillar in Pillar.objects.all():
        assert list(pillar.facets.values_list("code", flat=True)) == CONTRACT_FACETS[pillar.code]
    assert list(Tip.objects.values_list("number", "code", "title")) == CONTRACT_TIPS
    assert all(tip.pillars.exists() for tip in Tip.objects.all())
    assert list(Challenge.objects.values_list("code", flat=True)) == [
        "balancing-interests",
        "cold-war-dynamics",
        "building-trust",
    ]


def test_asean_lists_its_eleven_members_with_real_dates(reference_data):
    members = Partner.objects.member_of("ASEAN")
    assert set(members.values_list("code", flat=True)) == ASEAN_MEMBERS
    timor = Membership.objects.get(organization__code="ASEAN", member__code="TLS")
    assert timor.joined == datetime.date(2025, 10, 26)
    others = Membership.objects.filter(organization__code="ASEAN").exclude(member__code="TLS")
    assert all(m.joined < datetime.date(2000, 1, 1) for m in others)
    # On the eve of its accession Timor-Leste was not yet a member.
    eve = set(
        Partner.objects.member_of("ASEAN", on=datetime.date(2025, 10, 25)).values_list(
            "code", flat=True
        )
    )
    assert eve == ASEAN_MEMBERS - {"TLS"}


def test_each_states_memberships(reference_data):
    def member_of(code):
        return set(
            Membership.objects.current()
            .filter(member__code=code)
            .values_list("organization__code", flat=True)
        )

    assert member_of("IDN") == {"ASEAN"}
    assert member_of("AUS") == {"PIF"}
    assert member_of("JPN") == set()
    for code in ("JPN", "KOR", "AUS", "NZL"):
        assert Partner.objects.filter(code=code, kind="state").exists()


def test_loading_twice_changes_nothing(reference_data):
    before = snapshot()
    out = io.StringIO()
    call_command("load_reference_data", stdout=out)
    assert snapshot() == before
    assert "created 0 pillars, 0 facets, 0 tips, 0 challenges, 0 partners, 0 memberships" in (
        out.getvalue()
    )


def test_curated_edits_are_never_overwritten(reference_data):
    Partner.objects.filter(code="VNM").update(name="Socialist Republic of Viet Nam", notes="x")
    Membership.objects.filter(member__code="TLS").update(joined=datetime.date(2025, 10, 27))
    Pillar.objects.filter(code="hadr").update(description="Curated")
    call_command("load_reference_data", stdout=io.StringIO())
    assert Partner.objects.get(code="VNM").name == "Socialist Republic of Viet Nam"
    assert Membership.objects.get(member__code="TLS").joined == datetime.date(2025, 10, 27)
    assert Membership.objects.filter(member__code="TLS").count() == 1
    assert Pillar.objects.get(code="hadr").description == "Curated"


@pytest.mark.django_db
def test_it_starts_from_an_empty_database():
    for model in (Membership, Tip, Facet, Challenge, Partner, Pillar):
        model.objects.all().delete()
    call_command("load_reference_data", stdout=io.StringIO())
    assert Pillar.objects.count() == 4 and Facet.objects.count() == 12
    assert Partner.objects.count() >= 25
    assert Partner.objects.filter(kind="civil_society").count() >= 3
