"""Engagements marked above a user's clearance do not exist for that user: not in any
list, page, search, download, API answer, report count, timeline, dashboard or admin page."""

import datetime
import io
import re

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from accounts.choices import Marking, Role
from accounts.models import User
from engagements.forms import EngagementForm
from engagements.models import Action, Engagement, Note, Review
from engagements.services import delete_engagement, save_engagement, save_note
from partners.models import Partner
from people.services import save_person
from roadmap.models import Pillar, Target
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
    "/partners/IDN/brief/",
    "/roadmap/",
    "/roadmap/tips/3/",
    "/reports/coverage/?format=csv",
    "/reports/trend/",
    "/reports/gaps/",
    "/saved-views/",
    # The search box (a word of hidden texts, a typo of a hidden word; the page shows what
    # was typed, so the hidden word itself is asked of the API below) and the timeline.
    "/search/?q=summary",
    "/search/?q=Quasr",
    "/partners/IDN/?timeline=",
]
API = [
    "/api/v1/engagements/",
    "/api/v1/engagements/?search=outcomes",
    "/api/v1/engagements/?marking=NS",
    "/api/v1/reports/coverage/",
    "/api/v1/reports/trend/",
    "/api/v1/reports/gaps/",
    "/api/v1/tips/",
    "/api/v1/search/?q=outcomes",
    "/api/v1/search/?q=Pulsar",
    "/api/v1/search/?q=Nebul",
]


def test_the_audit_trail_tells_an_admin_cleared_nu_nothing_about_what_is_hidden(client, marked):
    """Who read a marked engagement is itself marked: an NU admin's audit list (page and
    API) holds the reads of the NU engagement only."""
    hidden, visible = marked
    client.force_login(make_user(Role.ANALYST, Marking.NS, username="reader"))
    for engagement in [*hidden.values(), visible]:
        assert client.get(f"/engagements/{engagement.pk}/").status_code == 200
    admin = make_user(Role.ADMIN, Marking.NU)
    results = api_client(admin).get("/api/v1/audit/?action=read").json()["results"]
    assert [(entry["user"], entry["object_id"]) for entry in results] == [
        ("reader", str(visible.pk))
    ]
    client.force_login(admin)
    for engagement in hidden.values():
        query = f"?object_type=engagement&object_id={engagement.pk}"
        page = body_of(client.get("/audit/" + query))
        assert "No entries match." in page and "reader" not in page, engagement.marking
        assert api_client(admin).get("/api/v1/audit/" + query).json()["results"] == []
    assert "reader" in body_of(client.get(f"/audit/?object_type=engagement&object_id={visible.pk}"))


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


def follow_ups(hidden, visible, owner):
    """A target on Indonesia's economic pillar (met only through the hidden completed
    engagements), a hidden planned high-risk one soon, an overdue action and a review on
    each hidden engagement, and one overdue action on the visible one."""
    target = Target.objects.create(
        partner=Partner.objects.get(code="IDN"),
        pillar=Pillar.objects.get(code="economic"),
        minimum=1,
        months=6,
    )
    soon = timezone.localdate() + datetime.timedelta(days=3)
    hidden["plan"] = make_engagement(
        title=f"Operation {WORDS['NS']} transit",
        marking=Marking.NS,
        status="planned",
        escalation_risk="high",
        start_date=soon,
        partners=["IDN"],
        pillars=["economic"],
    )
    for engagement in hidden.values():
        word = WORDS[engagement.marking]
        Action.objects.create(
            engagement=engagement, title=f"{word} follow-up", owner=owner, due=soon - WEEK
        )
        Review.objects.create(engagement=engagement, decision="concerns", note=f"{word} note")
    Action.objects.create(engagement=visible, title="Open minutes", owner=owner, due=soon - WEEK)
    return target


WEEK = datetime.timedelta(days=7)


@pytest.mark.parametrize("role", [Role.MANAGER, Role.ADMIN])
def test_the_calendar_feed_the_brief_and_the_digest_hold_nothing_above_nu(client, marked, role):
    hidden, visible = marked
    hidden = dict(hidden)
    follow_ups(hidden, visible, User.objects.get(username="author"))
    user = make_user(role, Marking.NU)
    user.email = "reader@example.org"
    user.save()
    client.force_login(user)
    page = body_of(client.get("/calendar/"))
    address = re.search(r'value="http://testserver(/calendar/\w+\.ics)"', page)
    client.logout()
    feed = body_of(client.get(address.group(1)))
    assert "Open workshop" in feed
    assert_no_leak(feed, hidden, "calendar feed")
    for engagement in hidden.values():
        assert f"engagement-{engagement.pk}@" not in feed

    client.force_login(user)
    brief = body_of(client.get("/partners/IDN/brief/"))
    assert "Open workshop" in brief
    assert_no_leak(brief, hidden, "partner brief")
    assert "NATO UNCLASSIFIED" in brief
    assert not re.search("NATO (RESTRICTED|CONFIDENTIAL|SECRET)", brief)
    # The visible action is listed, none of the hidden ones (their titles and the reviews'
    # notes hold the hidden words), nor any review or plan; the economic target is behind:
    # nothing done, nothing planned, never (for NU).
    assert "Open minutes" in brief
    assert "needs review" not in brief and "concerns" not in brief
    economic = re.sub(r"<[^>]+>|\s+", " ", brief.split('id="brief-targets"')[1])
    economic = re.sub(r"\s+", " ", economic).split("Economic Cooperation")[1]
    assert re.match(r" at least 1 every 6 months 0 since \S+ 0 to \S+ never behind", economic)

    Partner.objects.exclude(code="IDN").update(active=False)  # its gaps in the first 25
    call_command("send_digest", stdout=io.StringIO())
    (message,) = mail.outbox
    digest = message.subject + message.body + message.alternatives[0][0]
    assert_no_leak(digest, hidden, "digest")
    assert not re.search("NATO (RESTRICTED|CONFIDENTIAL|SECRET)", digest)
    # The hidden engagements closed Indonesia's economic gap for those who may see them,
    # met its target, and have overdue actions and an unreviewed plan: not for NU.
    assert "Indonesia (IDN), Economic Cooperation: last never" in message.body
    assert re.search(
        r"- Indonesia \(IDN\), Economic Cooperation: at least 1 every 6 months; 0 done since "
        r"\S+, 0 planned to \S+, last never",
        message.body,
    )
    assert "Open minutes" in digest
    assert "HIGH-RISK PLANS WITHOUT A REVIEW, starting in the next 30 days\nNone." in digest

    # Cleared NS, the same brief shows all of it: the target met, the plan and its review.
    client.force_login(make_user(role, Marking.NS))
    brief = re.sub(r"<[^>]+>|\s+", " ", body_of(client.get("/partners/IDN/brief/")))
    brief = re.sub(r"\s+", " ", brief)
    assert re.search(
        r"Economic Cooperation at least 1 every 6 months 3 since \S+ 1 to \S+ \S+ met", brief
    )
    assert "Pulsar follow-up" in brief and "Operation Pulsar transit Indonesia concerns" in brief
    assert "NATO SECRET" in brief


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


def test_targets_actions_and_reviews_tell_nothing_of_what_is_above_the_reader(client, marked):
    """An NU reader learns nothing of the hidden engagements' actions or reviews, nor of
    their effect on a target's status; an NS reader sees all of it."""
    hidden, visible = marked
    author = User.objects.get(username="author")
    manager_ns = make_user(Role.MANAGER, Marking.NS)
    goal = Target.objects.create(
        partner=Partner.objects.get(code="IDN"),
        pillar=Pillar.objects.get(code="economic"),
        minimum=1,
        months=6,
    )
    soon = timezone.localdate() + datetime.timedelta(days=3)
    hidden = dict(hidden)
    hidden["plan"] = make_engagement(
        title=f"Operation {WORDS['NS']} transit",
        marking=Marking.NS,
        status="planned",
        escalation_risk="high",
        start_date=soon,
        partners=["IDN"],
        pillars=["economic"],
    )
    actions = []
    for engagement in hidden.values():
        actions.append(
            Action.objects.create(
                engagement=engagement,
                title=f"{WORDS[engagement.marking]} follow-up",
                owner=author,
                due=soon - datetime.timedelta(days=30),
                created_by=author,
            )
        )
        Review.objects.create(
            engagement=engagement, decision="concerns", note=f"{WORDS[engagement.marking]} note"
        )
    for reader in [make_user(role, Marking.NU) for role in (Role.ANALYST, Role.MANAGER)]:
        client.force_login(reader)
        for url in [
            "/",
            "/actions/",
            "/actions/?owner=author&overdue=true",
            "/reports/plan/",
            "/reports/plan/?format=csv",
            "/reports/plan/?format=xlsx",
            "/reports/risks/",
            "/partners/IDN/",
            f"/engagements/{visible.pk}/",
        ]:
            response = client.get(url)
            assert response.status_code == 200, url
            assert_no_leak(body_of(response), hidden, url)
            assert "follow-up" not in body_of(response), url
        api = api_client(reader)
        for url in [
            "/api/v1/actions/",
            "/api/v1/actions/?owner=author",
            f"/api/v1/actions/?engagement={hidden['NS'].pk}",
            "/api/v1/reports/plan/",
            "/api/v1/reports/risks/",
            f"/api/v1/engagements/{visible.pk}/reviews/",
            f"/api/v1/engagements/{visible.pk}/actions/",
        ]:
            response = api.get(url)
            assert response.status_code == 200, url
            assert_no_leak(response.content.decode(), hidden, url)
            assert "follow-up" not in response.content.decode(), url
        assert api.get("/api/v1/actions/").json()["results"] == []
        for action in actions:
            assert api.get(f"/api/v1/actions/{action.pk}/").status_code == 404
            assert api.patch(f"/api/v1/actions/{action.pk}/", {"status": "done"}).status_code == 404
            assert api.delete(f"/api/v1/actions/{action.pk}/").status_code == 404
        for engagement in hidden.values():
            for door in ("actions", "reviews"):
                url = f"/api/v1/engagements/{engagement.pk}/{door}/"
                assert api.get(url).status_code == 404, url
            # The pages' doors too: nothing added to, or told of, a hidden engagement.
            added = client.post(
                f"/engagements/{engagement.pk}/actions/",
                {"title": "Probe", "owner": reader.pk, "due": "2030-01-01"},
            )
            assert added.status_code in (403, 404)
            reviewed = client.post(
                f"/engagements/{engagement.pk}/reviews/", {"decision": "cleared"}
            )
            assert reviewed.status_code in (403, 404)
        client.post("/actions/", {"action": actions[0].pk, "status": "done"})
        actions[0].refresh_from_db()
        assert actions[0].status == "open"
        assert not Action.objects.filter(title="Probe").exists()
        assert Review.objects.filter(decision="cleared").count() == 0
        # The plan's downloads and the profile give the reader's numbers: 0 done, behind.
        plan_csv = body_of(client.get("/reports/plan/?format=csv")).splitlines()
        assert plan_csv[1].split(",")[:8] == ["IDN", "economic", "1", "6", "0", "0", "", "behind"]
        # The target is behind for the NU reader: the hidden completed ones do not count.
        [row] = api.get("/api/v1/reports/plan/").json()
        assert (row["target"], row["done"], row["planned"], row["last"], row["status"]) == (
            goal.pk,
            0,
            0,
            None,
            "behind",
        )
        assert api.get("/api/v1/reports/risks/").json() == []
    # The NS reader: three completed ones count (met), the plan is listed with its review.
    api = api_client(manager_ns)
    [row] = api.get("/api/v1/reports/plan/").json()
    assert (row["done"], row["planned"], row["status"]) == (3, 1, "met")
    risks = api.get("/api/v1/reports/risks/").json()
    assert [(r["engagement"], r["review"]) for r in risks] == [(hidden["plan"].pk, "concerns")]
    assert len(api.get("/api/v1/actions/?owner=author").json()["results"]) == 4


def test_an_owner_cleared_below_the_engagement_is_refused_without_telling_more(client, marked):
    hidden, _ = marked
    reader = make_user(Role.ANALYST, Marking.NU, username="reader-nu")
    writer = api_client(make_user(Role.ANALYST, Marking.NS))
    body = {"title": "Brief", "owner": "reader-nu", "due": "2030-01-01"}
    response = writer.post(f"/api/v1/engagements/{hidden['NS'].pk}/actions/", body)
    assert response.status_code == 400
    assert not Action.objects.filter(owner=reader).exists()


def test_the_action_admin_hides_actions_of_hidden_engagements(client, marked):
    hidden, _ = marked
    author = User.objects.get(username="author")
    action = Action.objects.create(
        engagement=hidden["NS"], title="Pulsar follow-up", owner=author, due="2030-01-01"
    )
    Review.objects.create(engagement=hidden["NS"], decision="cleared", note="Pulsar note")
    client.force_login(make_user(Role.ADMIN, Marking.NU))
    for url in ["/admin/engagements/action/", "/admin/engagements/review/"]:
        response = client.get(url)
        assert response.status_code == 200
        assert_no_leak(response.content.decode(), hidden, url)
    for suffix in ("change/", "history/"):
        response = client.get(f"/admin/engagements/action/{action.pk}/{suffix}")
        assert response.status_code in (302, 404), suffix
        assert "Pulsar" not in response.content.decode()


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
    monkeypatch.setattr("core.downloads.CSV_BATCH", 1)
    nu = make_user(Role.ANALYST, Marking.NU)
    ns = make_user(Role.ANALYST, Marking.NS)
    today = timezone.localdate()
    first = make_engagement(title="First row", start_date=today)
    second = make_engagement(title="Second row", start_date=today - datetime.timedelta(days=1))
    client.force_login(nu)
    response = client.get("/engagements/?format=csv")
    stream = iter(response.streaming_content)
    received = [next(stream)]  # the header (and, in Python, the first row)
    while b"First row" not in b"".join(received):
        received.append(next(stream))  # PostgreSQL's COPY sends its first piece

    save_engagement(
        ns, {"title": "Pulsar row", "summary": "Pulsar", "marking": "NS"}, second.pk, version=1
    )
    assert Engagement.objects.get(pk=second.pk).marking == Marking.NS
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
    assert not Engagement.objects.restrict(user).exists()


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
            "role": target.role,
            "is_active": "on",
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
            "role": "analyst",
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
    form = client.get(url).context["adminform"].form
    assert [value for value, _ in form.fields["role"].choices] == ["", "analyst", "manager"]
    data = {"username": other.username, "clearance": "NU", "role": "admin", "is_active": "on"}
    assert client.post(url, data).status_code == 200
    assert other.groups.get().name == "analyst"


def test_admin_delete_pages_do_not_count_hidden_engagements(client, marked):
    hidden, visible = marked
    client.force_login(make_user(Role.ADMIN, Marking.NU))
    for url in ["/admin/roadmap/tip/3/delete/", "/admin/partners/partner/{}/delete/"]:
        if "{}" in url:
            url = url.format(Partner.objects.get(code="IDN").pk)
        page = client.get(url).content.decode()
        assert "in use by engagements (1 you can see)" in page, url
        assert "relationships" not in page and ": 4" not in page, url
        assert_no_leak(page, hidden, url)


def test_the_conflict_screen_shows_no_version_between_the_readers_and_theirs(client):
    """Version 2 (NU) is what the NU analyst opened; version 3 was raised to NS and
    rewritten, version 4 lowered and rewritten again. The conflict screen compares 2 and 4;
    version 3's text appears nowhere, not even as the original when a forged form claims
    to start from it."""
    nu = make_user(Role.ANALYST, Marking.NU)
    ns = make_user(Role.ANALYST, Marking.NS, username="raiser")
    engagement = make_engagement(title="Open talks", partners=["IDN"], pillars=["security"])
    save_engagement(ns, {"title": "Harbour talks"}, engagement.pk, 1)
    save_engagement(ns, {"title": "Pulsar talks", "marking": "NS"}, engagement.pk, 2)
    save_engagement(ns, {"title": "Port call", "marking": "NU"}, engagement.pk, 3)
    client.force_login(nu)
    data = {
        "title": "My edit",
        "kind": "staff_talks",
        "status": "completed",
        "start_date": "2025-06-01",
        "partners": ["IDN"],
        "pillars": [str(engagement.pillars.get().pk)],
        "marking": "NU",
        "escalation_risk": "low",
    }
    for started_from in (2, 3):
        response = client.post(
            f"/engagements/{engagement.pk}/edit/", {**data, "version": started_from}
        )
        text = response.content.decode()
        assert "Someone else saved" in text and "Port call" in text
        assert "Pulsar" not in text


def test_an_import_cannot_store_or_echo_above_the_importers_clearance(client):
    nu = make_user(Role.ANALYST, Marking.NU)
    client.force_login(nu)
    upload = io.BytesIO(
        b"title,kind,status,start_date,partners,pillars,marking,escalation_risk\n"
        b"Pulsar drill,exercise,planned,2026-01-10,JPN,security,NS,low\n"
    )
    upload.name = "secret.csv"
    response = client.post("/engagements/import/", {"file": upload})
    assert "You cannot mark an engagement above your clearance" in response.content.decode()
    assert "Import the" not in response.content.decode()  # no valid row to import
    client.post("/engagements/import/", {"token": response.context["token"], "rows": "valid"})
    client.post("/engagements/import/", {"token": response.context["token"], "rows": "all"})
    assert not Engagement.objects.filter(title="Pulsar drill").exists()


def test_counts_of_the_list_and_dashboard_leave_hidden_rows_out(client):
    """The list's "N engagements match" and the dashboard's "15 of 45 planned"."""
    soon = timezone.localdate() + datetime.timedelta(days=3)
    for marking in ("NU", "NS", "NS"):
        make_engagement(partners=["IDN"], status="planned", start_date=soon, marking=marking)
    client.force_login(make_user(Role.ANALYST, Marking.NU))
    assert client.get("/").context["upcoming_count"] == 1
    listed = client.get("/engagements/?status=planned&start_before=")
    assert listed.context["count"] == 1 and "1 engagement matches." in listed.content.decode()


# An admin's reach ends at their clearance (issue 21) ------------------------------------


def test_an_nu_admin_cannot_reach_an_account_cleared_above_them(client):
    """No door of the user admin shows or changes an NS account for an NU admin: not the
    list, the change page, the password page, the history or the delete page; a password
    or an email sent anyway changes nothing."""
    admin = make_user(Role.ADMIN, Marking.NU, username="curator")
    secret = make_user(Role.ANALYST, Marking.NS, username="pulsar-analyst")
    secret.email = "pulsar@example.org"
    secret.save()
    peer = make_user(Role.ANALYST, Marking.NU, username="open-analyst")
    client.force_login(admin)
    listing = client.get("/admin/accounts/user/").content.decode()
    assert peer.username in listing and secret.username not in listing
    assert secret.username not in client.get("/admin/accounts/user/?q=pulsar").content.decode()
    base = f"/admin/accounts/user/{secret.pk}"
    for door in ["change", "password", "history", "delete"]:
        assert client.get(f"{base}/{door}/").status_code == 404, door
    password = {"password1": "a-new-long-password-9", "password2": "a-new-long-password-9"}
    assert client.post(f"{base}/password/", password).status_code == 404
    changed = {
        "username": secret.username,
        "email": "attacker@example.org",
        "clearance": "NU",
        "is_active": "on",
        "date_joined_0": "2025-01-01",
        "date_joined_1": "00:00:00",
    }
    assert client.post(f"{base}/change/", changed).status_code == 404
    assert client.post(f"{base}/delete/", {"post": "yes"}).status_code == 404
    stored = User.objects.get(pk=secret.pk)
    assert stored.check_password("a-long-test-password-1")
    assert (stored.email, stored.clearance, stored.is_active) == ("pulsar@example.org", "NS", True)
    # The bulk action works on the listed queryset only.
    client.post(
        "/admin/accounts/user/",
        {"action": "delete_selected", "_selected_action": [secret.pk], "post": "yes"},
    )
    assert User.objects.filter(pk=secret.pk).exists()
    # Within reach: the NU analyst's password page answers.
    assert client.get(f"/admin/accounts/user/{peer.pk}/password/").status_code == 200


def test_a_clearance_taken_down_takes_the_reach_down_at_once(client):
    admin = make_user(Role.ADMIN, Marking.NS, username="lowered-admin")
    secret = make_user(Role.MANAGER, Marking.NS, username="ns-manager")
    client.force_login(admin)
    assert client.get(f"/admin/accounts/user/{secret.pk}/change/").status_code == 200
    admin.clearance = Marking.NU
    admin.save()
    assert client.get(f"/admin/accounts/user/{secret.pk}/change/").status_code == 404
    assert secret.username not in client.get("/admin/accounts/user/").content.decode()


def test_only_a_superuser_reaches_a_superuser(client):
    admin = make_user(Role.ADMIN, Marking.NS)
    root = User.objects.create_superuser("root", "root@example.org", "a-long-test-password-1")
    root.clearance = Marking.NU
    root.save()
    client.force_login(admin)
    assert client.get(f"/admin/accounts/user/{root.pk}/password/").status_code == 404


def test_a_delete_confirmation_names_nothing_the_admin_may_not_see(client, marked):
    """An NU analyst owns an action of an engagement that was later raised to NS, and
    an NU admin's log names an engagement that is NS now. Deleting either account: the
    confirmation names and counts neither, and the delete is refused."""
    hidden, _ = marked
    owner = make_user(Role.ANALYST, Marking.NU, username="nu-owner")
    Action.objects.create(
        engagement=hidden["NS"], title="Pulsar follow-up", owner=owner, due="2030-01-01"
    )
    admin = make_user(Role.ADMIN, Marking.NU, username="nu-admin")
    client.force_login(admin)
    page = client.get(f"/admin/accounts/user/{owner.pk}/delete/").content.decode()
    assert_no_leak(page, hidden, "delete confirmation")
    assert "Pulsar" not in page and "Action:" not in page and "Actions:" not in page
    assert "above your clearance" in page
    client.post(f"/admin/accounts/user/{owner.pk}/delete/", {"post": "yes"})
    assert User.objects.filter(pk=owner.pk).exists()
    # What the admin may see is still listed.
    peer = make_user(Role.ANALYST, Marking.NU, username="nu-peer")
    client.force_login(peer)
    client.post("/saved-views/new/", {"name": "Mine", "query": ""})
    client.force_login(admin)
    page = client.get(f"/admin/accounts/user/{peer.pk}/delete/").content.decode()
    assert "Saved view: Mine" in page and "above your clearance" not in page


def test_recent_actions_show_only_what_the_admin_may_see_now(client):
    """An NS admin edits an NS engagement and a sanitised one in the admin; another admin
    lowers them to NU. Their "Recent actions" no longer names the NS engagement, and names
    the sanitised one by its title now, not the NS title it had when they edited it."""
    admin = make_user(Role.ADMIN, Marking.NS, username="ns-admin")
    ns = make_engagement(title="Pulsar rehearsal", marking="NS")
    released = make_engagement(title="Pulsar briefing", marking="NS")
    client.force_login(admin)
    for engagement in (ns, released):
        url = f"/admin/engagements/engagement/{engagement.pk}/change/"
        form = client.get(url).context["adminform"].form
        data = {
            name: value
            for name, value in form.initial.items()
            if value is not None and name in form.fields
        }
        data.update(
            partners=["JPN"],
            pillars=[Pillar.objects.get(code="dialogue").pk],
            location="Harbour",
            start_date="2025-06-01",
        )
        assert client.post(url, data).status_code == 302
    assert "Pulsar rehearsal" in client.get("/admin/").content.decode()
    save_engagement(
        admin,
        {"title": "Harbour briefing", "marking": "NU"},
        released.pk,
        Engagement.objects.get(pk=released.pk).version,
    )
    admin.clearance = Marking.NU
    admin.save()
    page = client.get("/admin/").content.decode()
    assert "Pulsar" not in page
    assert "Harbour briefing" in page


# Records that hang on an engagement are written under its marking check --------------


def _raised_meanwhile(monkeypatch):
    """Between every check a door makes and the statement that writes, the engagement is
    raised to NS: the claim on the engagement's row (`engagements.services.claim`) is the
    last moment, so the raise is made just before it runs."""
    from engagements import services

    original = services.claim

    def raise_then_claim(user, engagement_id, version=None):
        Engagement.objects.filter(pk=engagement_id).update(marking=Marking.NS)
        return original(user, engagement_id, version)

    monkeypatch.setattr(services, "claim", raise_then_claim)


def _stored(engagement):
    return (
        sorted(Action.objects.filter(engagement=engagement).values_list("title", "status")),
        Review.objects.filter(engagement=engagement).count(),
    )


DOORS = [
    # (who, method, url, data); {e} the engagement's id, {a} its action's id
    ("analyst", "post", "/api/v1/engagements/{e}/actions/", {"title": "New", "due": "2030-01-01"}),
    ("analyst", "patch", "/api/v1/actions/{a}/", {"title": "Renamed"}),
    ("analyst", "patch", "/api/v1/actions/{a}/", {"status": "done"}),
    ("analyst", "delete", "/api/v1/actions/{a}/", None),
    ("analyst", "post", "/engagements/{e}/actions/", {"title": "New", "due": "2030-01-01"}),
    ("analyst", "post", "/actions/", {"status": "done"}),
    ("manager", "post", "/api/v1/engagements/{e}/reviews/", {"decision": "cleared"}),
    ("manager", "post", "/engagements/{e}/reviews/", {"decision": "cleared"}),
    ("admin", "post", "/admin/engagements/action/{a}/change/", {"title": "Renamed"}),
    ("admin", "post", "/admin/engagements/action/{a}/delete/", {"post": "yes"}),
]


@pytest.mark.parametrize("who, method, url, data", DOORS)
def test_a_record_on_an_engagement_raised_meanwhile_is_not_stored(
    client, monkeypatch, who, method, url, data
):
    role = {"analyst": Role.ANALYST, "manager": Role.MANAGER, "admin": Role.ADMIN}[who]
    writer = make_user(role, Marking.NU)
    engagement = make_engagement(title="Open talks", status="planned", escalation_risk="high")
    action = Action.objects.create(
        engagement=engagement,
        title="Send minutes",
        owner=writer,
        due="2030-01-01",
        created_by=writer,
    )
    before = _stored(engagement)
    url = url.format(e=engagement.pk, a=action.pk)
    data = dict(data or {})
    if "/actions/" in url and method == "post" and "title" in data:
        data["owner"] = writer.username if url.startswith("/api/") else writer.pk
    if url == "/actions/":
        data["action"] = action.pk
    if "/admin/" in url and "title" in data:
        data.update(owner=writer.pk, due="2030-01-01", status="open")
    _raised_meanwhile(monkeypatch)
    client.force_login(writer)
    if url.startswith("/api/"):
        response = getattr(client, method)(url, data, content_type="application/json")
        assert response.status_code == 404, response.content
    else:
        response = getattr(client, method)(url, data)
        assert response.status_code == 302, response.status_code
        page = client.get(response.url).content.decode()
        assert "no longer visible to you" in page, page[:300]
    assert _stored(engagement) == before


# Found by the second probe of issue 21 ------------------------------------------------


def test_nobody_renames_a_role_or_takes_its_permissions_in_the_admin(client):
    from django.contrib.auth.models import Group

    manager_group = Group.objects.get(name="manager")
    url = f"/admin/auth/group/{manager_group.pk}/change/"
    client.force_login(make_user(Role.ADMIN, Marking.NU))
    assert client.post(url, {"name": "renamed"}).status_code == 403
    root = User.objects.create_superuser("root", "root@example.org", "a-long-test-password-1")
    client.force_login(root)
    assert client.get(url).status_code == 200  # readable, not changeable
    assert client.post(url, {"name": "renamed"}).status_code == 403
    assert (
        client.post(f"/admin/auth/group/{manager_group.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert Group.objects.filter(name="manager").exists()


def test_view_on_site_says_nothing_of_what_the_admin_may_not_see(client, marked):
    from django.contrib.contenttypes.models import ContentType

    hidden, visible = marked
    engagement_type = ContentType.objects.get_for_model(Engagement).pk
    client.force_login(make_user(Role.ADMIN, Marking.NU))
    ns = client.get(f"/admin/r/{engagement_type}/{hidden['NS'].pk}/")
    absent = client.get(f"/admin/r/{engagement_type}/999999/")
    assert ns.status_code == absent.status_code == 404
    assert "Pulsar" not in ns.content.decode()
    shown = client.get(f"/admin/r/{engagement_type}/{visible.pk}/")
    assert shown.status_code == 302 and shown.url == f"/engagements/{visible.pk}/"


def test_deleting_an_account_that_would_change_hidden_records_is_refused(client):
    """An NU analyst logged an engagement that was later raised to NS: deleting the
    account would set that engagement's creator (and its history's author) to none."""
    author = make_user(Role.ANALYST, Marking.NU, username="nu-author")
    ns = make_user(Role.ANALYST, Marking.NS)
    engagement = save_engagement(
        author,
        {
            "title": "Open talks",
            "kind": "staff_talks",
            "status": "planned",
            "start_date": datetime.date(2027, 1, 5),
            "partners": [Partner.objects.get(code="JPN")],
            "pillars": [Pillar.objects.get(code="dialogue")],
        },
    )
    save_engagement(ns, {"title": "Pulsar talks", "marking": "NS"}, engagement.pk, 1)
    client.force_login(make_user(Role.ADMIN, Marking.NU))
    page = client.get(f"/admin/accounts/user/{author.pk}/delete/").content.decode()
    assert "above your clearance" in page and "Pulsar" not in page
    client.post(f"/admin/accounts/user/{author.pk}/delete/", {"post": "yes"})
    assert User.objects.filter(pk=author.pk).exists()
    assert Engagement.objects.get(pk=engagement.pk).created_by == author


def test_only_the_last_deletion_decides_who_may_restore(client):
    nu_author = make_user(Role.ANALYST, Marking.NU)
    ns_admin = make_user(Role.ADMIN, Marking.NS)
    engagement = make_engagement(title="Open talks", created_by=nu_author)
    delete_engagement(nu_author, engagement.pk, 1)  # deleted at NU
    theirs = Client()
    theirs.force_login(ns_admin)
    theirs.post("/admin/engagements/engagement/deleted/", {"id": engagement.pk})
    restored = Engagement.objects.get(pk=engagement.pk)
    save_engagement(
        ns_admin, {"title": "Pulsar talks", "marking": "NS"}, restored.pk, restored.version
    )
    delete_engagement(ns_admin, restored.pk, restored.version + 1)  # deleted at NS
    client.force_login(make_user(Role.ADMIN, Marking.NU))
    page = client.get("/admin/engagements/engagement/deleted/").content.decode()
    assert "Open talks" not in page and "Pulsar" not in page
    client.post("/admin/engagements/engagement/deleted/", {"id": engagement.pk})
    assert not Engagement.objects.filter(pk=engagement.pk).exists()


def test_recent_actions_on_sign_in_records_of_a_hidden_account_are_gone(client):
    from axes.models import AccessLog

    admin = make_user(Role.ADMIN, Marking.NS, username="ns-root")
    admin.is_superuser = True
    admin.save()
    ns = make_user(Role.ANALYST, Marking.NS, username="pulsar-analyst")
    log = AccessLog.objects.create(username=ns.username, ip_address="10.0.0.1", user_agent="x")
    client.force_login(admin)
    client.post(f"/admin/axes/accesslog/{log.pk}/delete/", {"post": "yes"})
    assert "pulsar-analyst" in client.get("/admin/").content.decode()
    admin.clearance = Marking.NU
    admin.save()
    assert "pulsar-analyst" not in client.get("/admin/").content.decode()


def test_a_hidden_note_shows_through_no_door(client, marked):
    """A note marked above the reader (on an engagement it sees, or on a partner), and the
    notes of a hidden engagement: in no list, page, edit page or error."""
    hidden, visible = marked
    author = User.objects.get(username="author")
    notes = [
        save_note(author, Note(engagement=visible), {"body": "Pulsar minutes", "marking": "NS"}),
        save_note(
            author,
            Note(partner=Partner.objects.get(code="IDN")),
            {"body": "Quasar view", "marking": "NR"},
        ),
        save_note(
            author, Note(engagement=hidden["NC"]), {"body": "Nebula readout", "marking": "NU"}
        ),
    ]
    for role in (Role.ANALYST, Role.MANAGER, Role.ADMIN):
        reader = make_user(role, Marking.NU)
        client.force_login(reader)
        api = api_client(reader)
        texts = [
            body_of(client.get(f"/engagements/{visible.pk}/")),
            body_of(client.get("/partners/IDN/")),
            api.get(f"/api/v1/engagements/{visible.pk}/notes/").content.decode(),
            api.get("/api/v1/partners/IDN/notes/").content.decode(),
        ]
        for note in notes:
            for response in (
                client.get(f"/notes/{note.pk}/edit/"),
                client.post(f"/notes/{note.pk}/edit/", {"body": "x", "marking": "NU"}),
                client.post(f"/notes/{note.pk}/delete/"),
                api.get(f"/api/v1/notes/{note.pk}/"),
                api.patch(f"/api/v1/notes/{note.pk}/", {"body": "x"}),
                api.delete(f"/api/v1/notes/{note.pk}/"),
            ):
                assert response.status_code == 404, (role, note.pk, response.status_code)
                texts.append(response.content.decode())
        assert api.get(f"/api/v1/engagements/{hidden['NC'].pk}/notes/").status_code == 404
        for text in texts:
            assert_no_leak(text, hidden, role)
    assert Note.objects.count() == 3


def test_the_partner_timeline_holds_nothing_above_the_reader(client, marked):
    """Its items mix kinds (a membership may share a hidden engagement's id): no hidden
    word, and no hidden engagement among its engagements, on the page or in the API."""
    hidden, visible = marked
    for role in (Role.ANALYST, Role.MANAGER, Role.ADMIN):
        reader = make_user(role, Marking.NU)
        items = api_client(reader).get("/api/v1/partners/IDN/timeline/").json()["results"]
        shown = {item["id"] for item in items if item["kind"] == "engagement"}
        assert shown == {visible.pk}, role
        assert not any(word in str(items) for word in WORDS.values()), role
        client.force_login(reader)
        page = body_of(client.get("/partners/IDN/"))
        assert_no_leak(page, hidden, role)


def test_a_hidden_person_shows_through_no_door(client, marked):
    """A person marked above the reader, who took part in an engagement the reader sees
    and works at its partner: in no list, page, download, search, timeline or error."""
    hidden, visible = marked
    author = User.objects.get(username="author")
    idn = Partner.objects.get(code="IDN")
    person = save_person(
        author,
        {
            "name": "Pulsar Contact",
            "title": "Nebula desk",
            "partner": idn,
            "marking": "NS",
            "affiliations": [{"partner": idn, "start": datetime.date(2024, 1, 1)}],
        },
    )
    visible.people.add(person)
    for role in (Role.ANALYST, Role.MANAGER, Role.ADMIN):
        reader = make_user(role, Marking.NU)
        client.force_login(reader)
        api = api_client(reader)
        texts = [
            body_of(client.get(url))
            for url in (
                "/people/",
                "/people/?format=xlsx",
                f"/engagements/{visible.pk}/",
                f"/engagements/{visible.pk}/edit/",
                "/partners/IDN/",
                "/search/?q=desk",  # the page shows what was typed: a word of the title
            )
        ]
        texts += [
            api.get(url).content.decode()
            for url in (
                "/api/v1/people/",
                f"/api/v1/engagements/{visible.pk}/",
                "/api/v1/search/?q=Pulsar",
            )
        ]
        # The timeline mixes kinds (a membership may share a hidden engagement's id).
        items = api.get("/api/v1/partners/IDN/timeline/").json()["results"]
        assert not [item for item in items if item["kind"] == "person"], role
        assert not any(word in str(items) for word in ("Pulsar", "Nebula")), role
        for response in (
            client.get(f"/people/{person.pk}/"),
            client.get(f"/people/{person.pk}/edit/"),
            api.get(f"/api/v1/people/{person.pk}/"),
            api.delete(f"/api/v1/people/{person.pk}/?version=1"),
        ):
            assert response.status_code == 404, role
            texts.append(response.content.decode())
        for text in texts:
            assert_no_leak(text, hidden, role)
            assert f"/people/{person.pk}/" not in text, role
        assert api.get(f"/api/v1/engagements/{visible.pk}/").json()["people"] == []
