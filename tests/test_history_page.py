"""The history on the engagement page reads as words (issue 12, item 6): labels for
fields, names for codes. The API keeps the contract's field names and codes, and the
page redacts exactly what the API redacts."""

import re

import pytest

from accounts.choices import Marking, Role
from engagements.services import save_engagement
from partners.models import Partner
from roadmap.models import Facet, Pillar, Tip
from tests.factories import api_client, make_user

pytestmark = pytest.mark.usefixtures("reference_data")


def history_rows(client, engagement_id):
    page = client.get(f"/engagements/{engagement_id}/").content.decode()
    table = page[page.index("Change history") :]
    return [re.sub(r"<[^>]+>", "", item) for item in re.findall(r"<li>(.*?)</li>", table)]


def create(writer, **fields):
    data = {
        "title": "Disaster response drill",
        "kind": "exercise",
        "status": "planned",
        "start_date": "2025-04-01",
        "partners": [Partner.objects.get(code="IDN")],
        "pillars": [Pillar.objects.get(code="dialogue")],
        "marking": "NU",
        "escalation_risk": "low",
    }
    return save_engagement(writer, {**data, **fields})


def test_the_page_shows_labels_and_names_the_api_keeps_codes(client):
    writer = make_user(Role.ANALYST, Marking.NR)
    engagement = create(
        writer,
        facets=[Facet.objects.get(code="dialogue.information-sharing")],
        tips=[Tip.objects.get(number=2)],
    )
    save_engagement(
        writer,
        {"escalation_risk": "high", "partners": [Partner.objects.get(code="VNM")]},
        engagement.pk,
        1,
    )
    changes = api_client(writer).get(f"/api/v1/engagements/{engagement.pk}/history/").json()
    assert changes[0]["changes"] == {
        "partners": [["IDN"], ["VNM"]],
        "escalation_risk": ["low", "high"],
    }
    assert changes[1]["changes"]["facets"] == [None, ["dialogue.information-sharing"]]

    client.force_login(writer)
    rows = history_rows(client, engagement.pk)
    assert "Partners: Indonesia → Viet Nam" in rows
    assert "Escalation risk: Low → High" in rows
    assert "Kind: Exercise" in rows
    assert "Facets: Information Sharing" in rows
    assert "Pillars: Enhanced Dialogue and Cooperation" in rows
    assert "Tips advanced: 2. Invest in Information Sharing" in rows
    assert "Start date: 2025-04-01" in rows
    assert "Marking: NU" in rows
    assert not any("escalation_risk" in row or "IDN" in row for row in rows)


def test_redacted_values_stay_redacted_on_the_page(client):
    nu = make_user(Role.ANALYST, Marking.NU)
    ns = make_user(Role.ANALYST, Marking.NS)
    engagement = create(ns, title="Operation Pulsar", marking="NS", escalation_risk="high")
    save_engagement(ns, {"title": "Port call", "marking": "NU"}, engagement.pk, 1)
    client.force_login(nu)
    rows = history_rows(client, engagement.pk)
    assert "Title: above your clearance → Port call" in rows
    assert "Escalation risk: above your clearance" in rows
    assert not any("Pulsar" in row or "High" in row for row in rows)
