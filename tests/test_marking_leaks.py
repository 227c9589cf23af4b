"""Engagements marked above a user's clearance do not exist for that user: not in any
list, page, search, download, API answer, report count, timeline, dashboard or admin page."""

import datetime
import io

import pytest
from django.contrib.auth.models import Group, Permission
from django.utils import timezone
from openpyxl import load_workbook

from accounts.choices import Marking, Role
from accounts.models import User
from engagements.forms import EngagementForm
from engagements.models import Engagement
from engagements.services import save_engagement
from partners.models import Partner
from tests.factories import api_client, make_engagement, make_user

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
    "/saved-views/",
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

    api = api_client(user)
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
    # The list's count of matching rows, and the dashboard's "15 of 45".
    assert client.get("/engagements/?partner=IDN").context["count"] == 1
    assert "1 engagement matches." in client.get("/engagements/?partner=IDN").content.decode()


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


# Markings hold at every moment and every door -----------------------------------------


def test_history_hides_what_was_written_above_the_readers_clearance(client):
    """An NS analyst writes at NS, then rewrites the text and lowers it to NU (releasing a
    sanitised version): the NU reader sees the new values, never the NS ones."""
    ns = make_user(Role.ANALYST, Marking.NS)
    nu = make_user(Role.ANALYST, Marking.NU)
    response = api_client(ns).post(
        "/api/v1/engagements/",
        {
            "title": "Operation Pulsar",
            "kind": "staff_talks",
            "start_date": "2025-03-01",
            "location": "Pulsar base",
            "summary": "Pulsar summary",
            "partners": ["IDN"],
            "pillars": ["security"],
            "marking": "NS",
        },
        format="json",
    )
    engagement_id = response.json()["id"]
    api_client(ns).patch(
        f"/api/v1/engagements/{engagement_id}/",
        {
            "title": "Port call",
            "location": "Jakarta",
            "summary": "A port call.",
            "marking": "NU",
            "version": 1,
        },
        format="json",
    )
    history = api_client(nu).get(f"/api/v1/engagements/{engagement_id}/history/").json()
    assert "Pulsar" not in str(history)
    changed, created = history
    assert changed["redacted"] and created["redacted"]
    assert changed["changes"]["title"] == [None, "Port call"]
    assert changed["changes"]["marking"] == [None, "NU"]
    assert all(values == [None, None] for values in created["changes"].values())
    # The NS reader sees everything, and nothing is marked as redacted for them.
    full = api_client(ns).get(f"/api/v1/engagements/{engagement_id}/history/").json()
    assert full[0]["changes"]["title"] == ["Operation Pulsar", "Port call"]
    assert not any(entry["redacted"] for entry in full)
    # The page says so in words.
    client.force_login(nu)
    page = client.get(f"/engagements/{engagement_id}/").content.decode()
    assert "Pulsar" not in page and "above your clearance" in page and "Port call" in page


def test_the_conflict_screen_does_not_show_a_version_raised_above_the_reader(client, monkeypatch):
    """The NS writer raises the engagement between the NU analyst's page load check and
    the save: the save is refused, and the conflict screen does not show the NS version."""
    nu = make_user(Role.ANALYST, Marking.NU)
    ns = make_user(Role.ANALYST, Marking.NS)
    engagement = make_engagement(title="Open talks", partners=["IDN"], pillars=["security"])
    client.force_login(nu)
    original_save = EngagementForm.save

    def raised_meanwhile(form, *args, **kwargs):
        save_engagement(ns, {"title": "Pulsar talks", "marking": "NS"}, engagement.pk, 1)
        return original_save(form, *args, **kwargs)

    monkeypatch.setattr(EngagementForm, "save", raised_meanwhile)
    data = {
        "title": "My edit",
        "kind": "staff_talks",
        "status": "completed",
        "start_date": "2025-06-01",
        "partners": ["IDN"],
        "pillars": [str(engagement.pillars.get().pk)],
        "marking": "NU",
        "escalation_risk": "low",
        "version": 1,
    }
    response = client.post(f"/engagements/{engagement.pk}/edit/", data, follow=True)
    text = response.content.decode()
    assert "Pulsar" not in text
    assert "no longer visible to you" in text
    engagement.refresh_from_db()
    assert (engagement.title, engagement.marking) == ("Pulsar talks", "NS")


def test_a_download_never_streams_what_was_raised_while_it_runs(client, monkeypatch):
    """A slow reader of a large download: the rows come from one query (one consistent
    snapshot on PostgreSQL), so an engagement raised to NS and rewritten after the download
    started reaches the NU reader at most as it was (NU), never with its NS text."""
    monkeypatch.setattr("engagements.exports.CHUNK", 1)
    monkeypatch.setattr("engagements.downloads.CSV_BATCH", 1)
    nu = make_user(Role.ANALYST, Marking.NU)
    ns = make_user(Role.ANALYST, Marking.NS)
    today = timezone.localdate()
    first = make_engagement(title="First row", start_date=today)
    second = make_engagement(title="Second row", start_date=today - datetime.timedelta(days=1))
    client.force_login(nu)
    response = client.get("/engagements/?format=csv")
    stream = iter(response.streaming_content)
    received = [next(stream)]  # the header and the first row
    assert b"First row" in received[0] and b"Second row" not in received[0]
    save_engagement(
        ns, {"title": "Pulsar row", "summary": "Pulsar", "marking": "NS"}, second.pk, version=1
    )
    received += list(stream)
    text = b"".join(received).decode()
    assert "Pulsar" not in text
    assert first.title in text


def test_a_user_without_a_role_reads_nothing(client):
    hidden_from_nobody = make_engagement(title="Open workshop")
    user = make_user(Role.ANALYST, Marking.NS)
    user.groups.clear()  # an admin took the role away
    client.force_login(user)
    for url in [*PAGES, f"/engagements/{hidden_from_nobody.pk}/"]:
        response = client.get(url)
        assert response.status_code == 403, url
        assert "Open workshop" not in body_of(response), url
    assert "Ask an admin" in client.get("/").content.decode()
    api = api_client(user)
    for url in API:
        assert api.get(url).status_code == 403, url
    assert not Engagement.objects.visible_to(user).exists()


def test_an_nu_admin_cannot_raise_a_clearance_or_a_role(client):
    admin = make_user(Role.ADMIN, Marking.NU)
    other = make_user(Role.ANALYST, Marking.NU)
    client.force_login(admin)
    for target in (admin, other):
        url = f"/admin/accounts/user/{target.pk}/change/"
        form = client.get(url).context["adminform"].form
        assert [value for value, _ in form.fields["clearance"].choices] == ["NU"]
        data = {
            "username": target.username,
            "clearance": "NS",
            "is_active": "on",
            "groups": [group.pk for group in target.groups.all()],
            "date_joined_0": "2025-01-01",
            "date_joined_1": "00:00:00",
        }
        response = client.post(url, data)
        assert response.status_code == 200
        assert User.objects.get(pk=target.pk).clearance == "NU"
    response = client.post(
        "/admin/accounts/user/add/",
        {
            "username": "newcomer",
            "password1": "a-long-test-password-1",
            "password2": "a-long-test-password-1",
            "usable_password": "true",
            "clearance": "NC",
        },
    )
    assert response.status_code == 200
    assert not User.objects.filter(username="newcomer").exists()
    # A manager with staff access and the right to change users cannot make an admin.
    manager = make_user(Role.MANAGER, Marking.NS)
    manager.is_staff = True
    manager.save()
    manager.user_permissions.add(Permission.objects.get(codename="change_user"))
    client.force_login(manager)
    url = f"/admin/accounts/user/{other.pk}/change/"
    data = {
        "username": other.username,
        "clearance": "NU",
        "is_active": "on",
        "groups": [Group.objects.get(name="admin").pk],
        "date_joined_0": "2025-01-01",
        "date_joined_1": "00:00:00",
    }
    assert client.post(url, data).status_code == 200
    assert other.groups.get().name == "analyst"


def test_admin_delete_pages_do_not_count_hidden_engagements(client, marked):
    hidden, visible = marked
    client.force_login(make_user(Role.ADMIN, Marking.NU))
    for url in ["/admin/roadmap/tip/3/delete/", "/admin/partners/partner/{}/delete/"]:
        if "{}" in url:
            url = url.format(Partner.objects.get(code="IDN").pk)
        page = client.get(url).content.decode()
        assert "in use by engagements" in page, url
        assert "relationships" not in page and ": 4" not in page, url
        assert_no_leak(page, hidden, url)


def test_counts_of_the_list_and_dashboard_leave_hidden_rows_out(client):
    """The list's "N engagements match" and the dashboard's "15 of 45 planned"."""
    soon = timezone.localdate() + datetime.timedelta(days=3)
    for marking in ("NU", "NS", "NS"):
        make_engagement(partners=["IDN"], status="planned", start_date=soon, marking=marking)
    client.force_login(make_user(Role.ANALYST, Marking.NU))
    assert client.get("/").context["upcoming_count"] == 1
    listed = client.get("/engagements/?status=planned&start_before=")
    assert listed.context["count"] == 1 and "1 engagement matches." in listed.content.decode()
