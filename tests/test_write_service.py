"""Every entry point writes through `engagements.services`: the same bad input is refused
by the same rule, with nothing stored, whether it comes through the form, the API, the
admin, the importer or restore."""

import csv
import datetime
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, transaction

from accounts.choices import Marking, Role
from engagements.choices import PartnerRole
from engagements.models import Engagement, EngagementPartner
from engagements.services import NotVisible, delete_engagement, save_engagement
from partners.models import Partner
from roadmap.models import Facet, Pillar
from tests.factories import api_client, make_engagement, make_user

pytestmark = pytest.mark.usefixtures("reference_data")

STRAY_FACET = "“Cyber Threats” belongs to the pillar “Shared Security Concerns”"


def pk(model, code):
    return str(model.objects.get(code=code).pk)


# The same engagement everywhere: a security facet without the security pillar.
FORM = {
    "title": "Stray facet talks",
    "kind": "staff_talks",
    "status": "planned",
    "start_date": "2025-04-01",
    "partners": ["JPN"],
    "marking": "NU",
    "escalation_risk": "low",
}


@pytest.fixture
def writer(admin_ns):
    """Who writes: the cast's admin, who may use every marking."""
    return admin_ns


def test_the_form_refuses_it(client, writer):
    client.force_login(writer)
    data = {**FORM, "pillars": [pk(Pillar, "hadr")], "facets": [pk(Facet, "security.cyber")]}
    response = client.post("/engagements/new/", data)
    assert response.status_code == 200
    assert STRAY_FACET in response.content.decode()
    assert not Engagement.objects.exists()


def test_the_api_refuses_it(writer):
    api = api_client(writer)
    data = {**FORM, "pillars": ["hadr"], "facets": ["security.cyber"]}
    response = api.post("/api/v1/engagements/", data, format="json")
    assert response.status_code == 400
    assert STRAY_FACET in response.json()["facets"][0]
    assert not Engagement.objects.exists()


def test_the_admin_refuses_it(client, writer):
    client.force_login(writer)
    data = {
        **FORM,
        "pillars": [pk(Pillar, "hadr")],
        "facets": [pk(Facet, "security.cyber")],
        "partners": ["JPN"],
    }
    response = client.post("/admin/engagements/engagement/add/", data)
    assert response.status_code == 200
    assert STRAY_FACET in response.content.decode()
    assert not Engagement.objects.exists()


def test_the_admin_refuses_an_engagement_without_partners(client, writer):
    client.force_login(writer)
    data = {**FORM, "pillars": [pk(Pillar, "hadr")], "partners": []}
    response = client.post("/admin/engagements/engagement/add/", data)
    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    assert not Engagement.objects.exists()


def test_the_admin_saves_a_good_one_with_its_lead_and_history(client, writer):
    client.force_login(writer)
    data = {
        **FORM,
        "pillars": [pk(Pillar, "security")],
        "facets": [pk(Facet, "security.cyber")],
        "partners": ["JPN", "KOR"],
        "lead_partner": "KOR",
    }
    response = client.post("/admin/engagements/engagement/add/", data)
    assert response.status_code == 302
    engagement = Engagement.objects.get()
    assert engagement.created_by == writer
    assert engagement.partner_links.get(role=PartnerRole.LEAD).partner.code == "KOR"
    assert engagement.history.get().partner_codes == ["KOR", "JPN"]
    # Editing carries the version it showed; a stale one is refused, nothing stored.
    url = f"/admin/engagements/engagement/{engagement.pk}/change/"
    save_engagement(writer, {"title": "Saved elsewhere"}, engagement.pk, version=1)
    response = client.post(url, {**data, "title": "Admin edit", "version": 1}, follow=True)
    assert "someone else saved this engagement first" in response.content.decode()
    engagement.refresh_from_db()
    assert (engagement.title, engagement.version) == ("Saved elsewhere", 2)


def test_the_importer_refuses_it(tmp_path):
    path = tmp_path / "in.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*FORM, "pillars", "facets"])
        row = {**FORM, "partners": "JPN"}
        writer.writerow([*row.values(), "hadr", "security.cyber"])
    with pytest.raises(CommandError) as error:
        call_command("import_engagements", str(path), stdout=io.StringIO())
    assert STRAY_FACET in str(error.value)
    assert not Engagement.objects.exists()


def test_restore_refuses_it(client, writer):
    engagement = make_engagement(pillars=["security"], facets=["security.cyber"])
    delete_engagement(writer, engagement.pk, version=1)
    # Since then the pillar was taken off the snapshot (say, by an old data fix).
    record = Engagement.history.get(id=engagement.pk, history_type="-")
    record.pillar_codes = ["hadr"]
    record.save()
    client.force_login(writer)
    response = client.post(
        "/admin/engagements/engagement/deleted/", {"id": engagement.pk}, follow=True
    )
    assert STRAY_FACET in response.content.decode()
    assert not Engagement.objects.exists()


def test_only_the_fields_sent_are_written(writer):
    engagement = make_engagement(title="Kept", escalation_risk="high", summary="Kept too")
    save_engagement(writer, {"location": "Jakarta"}, engagement.pk, version=1)
    engagement.refresh_from_db()
    assert (engagement.title, engagement.escalation_risk, engagement.summary) == (
        "Kept",
        "high",
        "Kept too",
    )
    assert (engagement.location, engagement.version) == ("Jakarta", 2)


def test_a_write_to_an_engagement_raised_above_the_writer_is_refused():
    """The claim checks the marking in the same statement: the NU writer knows the current
    version, but the stored row is NS now, so it does not exist for them."""
    nu = make_user(Role.ANALYST, Marking.NU)
    ns = make_user(Role.ANALYST, Marking.NS)
    engagement = make_engagement(title="Open")
    save_engagement(ns, {"title": "Secret plan", "marking": "NS"}, engagement.pk, version=1)
    with pytest.raises(NotVisible):
        save_engagement(nu, {"title": "Overwritten", "marking": "NU"}, engagement.pk, version=2)
    with pytest.raises(NotVisible):
        delete_engagement(nu, engagement.pk, version=2)
    engagement.refresh_from_db()
    assert (engagement.title, engagement.marking, engagement.version) == ("Secret plan", "NS", 2)
    api = api_client(nu)
    url = f"/api/v1/engagements/{engagement.pk}/"
    assert api.patch(url, {"title": "x", "version": 2}, format="json").status_code == 404


def test_partner_codes_listed_twice_or_by_the_thousand_are_400(writer):
    api = api_client(writer)
    base = {**FORM, "pillars": ["hadr"]}
    response = api.post("/api/v1/engagements/", {**base, "partners": ["AUS", "AUS"]})
    assert response.status_code == 400
    assert response.json()["partners"] == ["“AUS” is listed twice."]
    codes = [f"X{n}" for n in range(10_000)]
    response = api.post("/api/v1/engagements/", {**base, "partners": codes})
    assert response.status_code == 400 and "partners" in response.json()
    response = api.post("/api/v1/engagements/", {**base, "partners": ["JPN"], "tips": [1e300]})
    assert response.status_code == 400 and "tips" in response.json()
    assert not Engagement.objects.exists()


def test_text_is_bounded(writer):
    api = api_client(writer)
    data = {**FORM, "pillars": ["hadr"], "summary": "x" * 10_001}
    response = api.post("/api/v1/engagements/", data, format="json")
    assert response.status_code == 400 and "summary" in response.json()
    data = {**FORM, "pillars": ["hadr"], "title": "x" * 301}
    assert api.post("/api/v1/engagements/", data, format="json").status_code == 400


def test_the_database_holds_at_most_one_lead():
    engagement = make_engagement(partners=["JPN", "KOR"])  # JPN leads
    with pytest.raises(IntegrityError), transaction.atomic():
        EngagementPartner.objects.filter(engagement=engagement).update(role=PartnerRole.LEAD)


def test_the_service_refuses_two_leads(writer):
    engagement = make_engagement(partners=["JPN", "KOR"])
    jpn, kor = Partner.objects.get(code="JPN"), Partner.objects.get(code="KOR")
    with pytest.raises(Exception) as error:
        save_engagement(
            writer,
            {"partner_roles": {jpn.pk: PartnerRole.LEAD, kor.pk: PartnerRole.LEAD}},
            engagement.pk,
            version=1,
        )
    assert "Only one partner can lead" in str(error.value)
    assert engagement.partner_links.filter(role=PartnerRole.LEAD).count() == 1


def test_marking_sorts_by_rank_not_alphabet(client, writer):
    for marking in ["NS", "NU", "NC", "NR"]:
        make_engagement(title=f"Marked {marking}", marking=marking)
    api = api_client(writer)
    results = api.get("/api/v1/engagements/?ordering=marking").json()["results"]
    assert [row["marking"] for row in results] == ["NU", "NR", "NC", "NS"]
    results = api.get("/api/v1/engagements/?ordering=-marking").json()["results"]
    assert [row["marking"] for row in results] == ["NS", "NC", "NR", "NU"]
    client.force_login(writer)
    page = client.get("/engagements/?ordering=marking").context["page"]
    assert [row.marking for row in page] == ["NU", "NR", "NC", "NS"]


def test_restore_keeps_the_creator_and_the_moment_of_creation(writer):
    author = make_user(Role.ANALYST, Marking.NU)
    engagement = make_engagement(created_by=author)
    Engagement.objects.filter(pk=engagement.pk).update(
        created_at=datetime.datetime(2024, 1, 2, 3, 4, tzinfo=datetime.UTC)
    )
    delete_engagement(writer, engagement.pk, version=1)
    from engagements.services import restore_engagement

    restored = restore_engagement(writer, engagement.pk)
    restored.refresh_from_db()
    assert restored.created_by == author
    assert restored.created_at == datetime.datetime(2024, 1, 2, 3, 4, tzinfo=datetime.UTC)
