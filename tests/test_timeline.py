"""A partner's timeline (CONTRACT.md: `partners/{code}/timeline/` and the profile): every
kind, newest first, a page at a time with nothing lost or repeated, only within clearance."""

import datetime

import pytest

from engagements.models import Action, Note, Review
from engagements.services import save_note
from partners.models import Partner
from roadmap.models import Pillar, Target, Tip, TipStatusUpdate
from tests.factories import api_client, make_engagement

pytestmark = pytest.mark.usefixtures("reference_data")

D = datetime.date
URL = "/api/v1/partners/IDN/timeline/"


def walk(user, url=URL):
    """Every item of every page, following `next`."""
    items, pages = [], 0
    while url:
        response = api_client(user).get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        items += body["results"]
        url, pages = body["next"], pages + 1
    return items, pages


@pytest.fixture
def history(analyst_ns, manager_ns):
    """Something of each kind about Indonesia, and the same above NU."""
    talks = make_engagement(title="Talks in Jakarta", partners=["IDN"], start_date=D(2025, 3, 4))
    secret = make_engagement(
        title="Pulsar survey", partners=["IDN"], marking="NS", start_date=D(2025, 3, 5)
    )
    save_note(analyst_ns, Note(partner=Partner.objects.get(code="IDN")), {"body": "New minister"})
    save_note(analyst_ns, Note(engagement=talks), {"body": "Pulsar aside", "marking": "NS"})
    for engagement in (talks, secret):
        Action.objects.create(
            engagement=engagement,
            title=f"Follow up {engagement.title}",
            owner=analyst_ns,
            due=D(2025, 4, 1),
        )
        Review.objects.create(engagement=engagement, decision="cleared", by=manager_ns)
    tip = Tip.objects.get(number=1)
    TipStatusUpdate.objects.create(tip=tip, status="on_track", note="Indonesia agreed")
    TipStatusUpdate.objects.create(
        tip=tip, status="at_risk", note="Indonesia: Pulsar", note_marking="NS"
    )
    Target.objects.create(
        partner=Partner.objects.get(code="IDN"),
        pillar=Pillar.objects.get(code="hadr"),
        minimum=2,
        months=6,
    )
    return talks, secret


def test_every_kind_shows_newest_first_with_the_contracts_fields(history, analyst_ns):
    items, _ = walk(analyst_ns)
    assert {item["kind"] for item in items} == {
        "engagement",
        "note",
        "action",
        "review",
        "membership",
        "tip_status",
        "target",
    }
    assert all(set(item) == {"at", "kind", "id", "title", "marking"} for item in items)
    moments = [item["at"] for item in items]
    assert moments == sorted(moments, reverse=True)
    assert {"Talks in Jakarta", "Pulsar survey"} <= {item["title"] for item in items}
    assert any(
        item["kind"] == "membership" and item["title"].startswith("Indonesia joined")
        for item in items
    )


def test_nothing_above_the_readers_clearance_is_on_it(client, history, analyst_nu):
    talks, secret = history
    items, _ = walk(analyst_nu)
    assert "Pulsar" not in str(items)
    assert {item["marking"] for item in items} == {"NU"}
    assert ("engagement", secret.pk) not in {(item["kind"], item["id"]) for item in items}
    assert [i["kind"] for i in items].count("action") == 1  # the NS engagement's is not
    assert [i["kind"] for i in items].count("tip_status") == 1
    client.force_login(analyst_nu)
    page = client.get("/partners/IDN/").content.decode()
    assert 'id="timeline"' in page and "Talks in Jakarta" in page and "Pulsar" not in page


def test_pages_lose_and_repeat_nothing_across_days_and_kinds(analyst_nu):
    # 30 engagements on three days (many on one day), and notes at one moment.
    for number in range(30):
        make_engagement(
            title=f"Visit {number}", partners=["IDN"], start_date=D(2025, 1, 1 + number % 3)
        )
    for number in range(5):
        save_note(
            analyst_nu, Note(partner=Partner.objects.get(code="IDN")), {"body": f"Note {number}"}
        )
    items, pages = walk(analyst_nu)
    keys = [(item["kind"], item["id"]) for item in items]
    assert len(keys) == len(set(keys)) == 30 + 5 + 1  # and the membership
    assert pages == 2
    moments = [item["at"] for item in items]
    assert moments == sorted(moments, reverse=True)


def test_a_page_costs_a_query_per_kind(analyst_nu, django_assert_num_queries):
    for number in range(30):
        make_engagement(title=f"Visit {number}", partners=["IDN"], start_date=D(2025, 1, 2))
    reader = api_client(analyst_nu)
    reader.get(URL)
    # the partner; engagements, notes, actions, reviews, memberships, tip status
    # updates, targets, people joining, people leaving
    with django_assert_num_queries(10):
        assert len(reader.get(URL).json()["results"]) == 25


def test_a_forged_cursor_is_refused_with_a_message(client, analyst_nu):
    response = api_client(analyst_nu).get(URL, {"cursor": "not-a-cursor"})
    assert response.status_code == 400 and "cursor" in response.json()
    client.force_login(analyst_nu)
    page = client.get("/partners/IDN/", {"timeline": "not-a-cursor"})
    assert page.status_code == 200 and "This page link is not valid" in page.content.decode()
    assert api_client(analyst_nu).get("/api/v1/partners/XXX/timeline/").status_code == 404
