"""Engagements marked above a user's clearance do not exist for that user: not in any
list, page, search, download, API answer, report count, timeline, dashboard or admin page."""

import datetime
import io

import pytest
from django.utils import timezone
from openpyxl import load_workbook
from rest_framework.test import APIClient

from accounts.choices import Marking, Role
from tests.factories import make_engagement, make_user

pytestmark = pytest.mark.usefixtures("reference_data")

WORDS = {"NR": "Quasar", "NC": "Nebula", "NS": "Pulsar"}


@pytest.fixture
def marked():
    """One engagement per marking above NU, with distinctive words, and one at NU."""
    author = make_user(Role.ANALYST, Marking.NS, username="author")
    last_week = timezone.localdate() - datetime.timedelta(days=5)
    hidden = {}
    for marking, word in WORDS.items():
        hidden[marking] = make_engagement(
            title=f"Operation {word}",
            summary=f"{word} summary",
            outcomes=f"{word} outcomes",
            marking=marking,
            partners=["IDN"],
            pillars=["economic"],
            tips=[3],
            start_date=last_week,
            created_by=author,
        )
    visible = make_engagement(
        title="Open workshop",
        partners=["IDN"],
        pillars=["hadr"],
        tips=[3],
        start_date=last_week,
        created_by=author,
    )
    return hidden, visible


def body_of(response):
    if response.streaming:
        return b"".join(response.streaming_content).decode()
    if response["Content-Type"].startswith("application/vnd.openxmlformats"):
        sheet = load_workbook(io.BytesIO(response.content)).active
        return " ".join(str(cell) for row in sheet.values for cell in row)
    return response.content.decode()


def assert_no_leak(text, hidden, where):
    for engagement in hidden.values():
        for word in WORDS.values():
            assert word not in text, (where, word)
        assert f"/engagements/{engagement.pk}/" not in text, (where, engagement.pk)
        assert f'"id":{engagement.pk},' not in text.replace(" ", ""), (where, engagement.pk)


PAGES = [
    "/",
    "/engagements/",
    "/engagements/?search=summary",
    "/engagements/?partner=IDN&format=csv",
    "/engagements/?format=xlsx",
    "/partners/IDN/",
    "/roadmap/",
    "/roadmap/tips/3/",
    "/reports/coverage/?format=csv",
    "/reports/trend/",
    "/reports/gaps/",
]
API = [
    "/api/v1/engagements/",
    "/api/v1/engagements/?search=outcomes",
    "/api/v1/engagements/?marking=NS",
    "/api/v1/reports/coverage/",
    "/api/v1/reports/trend/",
    "/api/v1/reports/gaps/",
    "/api/v1/tips/",
]


@pytest.mark.parametrize("role", [Role.ANALYST, Role.MANAGER, Role.ADMIN])
def test_nothing_above_nu_reaches_a_user_cleared_nu(client, marked, role):
    hidden, visible = marked
    user = make_user(role, Marking.NU)
    client.force_login(user)
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_no_leak(body_of(response), hidden, url)
    assert "Open workshop" in body_of(client.get("/engagements/?format=csv"))
    for engagement in hidden.values():
        for suffix in ("", "edit/", "delete/"):
            assert client.get(f"/engagements/{engagement.pk}/{suffix}").status_code == 404

    api = APIClient()
    api.force_authenticate(user)
    for url in API:
        response = api.get(url)
        assert response.status_code == 200, url
        assert_no_leak(response.content.decode(), hidden, url)
    for engagement in hidden.values():
        for suffix in ("", "history/"):
            assert api.get(f"/api/v1/engagements/{engagement.pk}/{suffix}").status_code == 404

    # The counts: only the NU engagement is counted anywhere.
    coverage = api.get("/api/v1/reports/coverage/").json()
    idn = next(row for row in coverage["rows"] if row["partner"] == "IDN")
    assert idn["total"] == 1 and idn["cells"]["economic"]["count"] == 0
    trend = api.get("/api/v1/reports/trend/").json()
    assert sum(p["total"] for p in trend["periods"]) == 1
    gaps = api.get("/api/v1/reports/gaps/").json()
    assert {"partner": "IDN", "pillar": "economic"} in [
        {"partner": g["partner"], "pillar": g["pillar"]} for g in gaps
    ]
    tip = next(t for t in client.get("/roadmap/").context["tip_board"] if t["number"] == 3)
    assert tip["engagements_12_months"] == 1


def test_admin_pages_hide_them_from_staff_cleared_nu(client, marked):
    hidden, _ = marked
    client.force_login(make_user(Role.ADMIN, Marking.NU))
    for url in [
        "/admin/engagements/engagement/",
        "/admin/engagements/engagement/?q=summary",
        "/admin/engagements/engagement/deleted/",
    ]:
        assert_no_leak(client.get(url).content.decode(), hidden, url)
    for engagement in hidden.values():
        engagement.delete()
    assert_no_leak(
        client.get("/admin/engagements/engagement/deleted/").content.decode(), hidden, "deleted"
    )
