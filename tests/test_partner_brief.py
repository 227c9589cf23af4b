"""The printable partner brief (/partners/<code>/brief/): what it holds, through the
reader's clearance, and the marking it carries at its top and bottom."""

import datetime
import re

import pytest
from django.utils import timezone

from accounts.choices import Marking, Role
from engagements.models import Action, Engagement, Review
from partners.models import Partner
from roadmap.models import Pillar, Target
from tests.factories import AUDIT_ENTRY_QUERIES, make_engagement, make_user

pytestmark = pytest.mark.usefixtures("reference_data")


def days(n):
    return timezone.localdate() + datetime.timedelta(days=n)


def text_of(response):
    """The page's text without tags, spaces collapsed."""
    assert response.status_code == 200
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def marking_lines(response):
    return re.findall(r'<p class="marking-line[^"]*"[^>]*>([^<]+)</p>', response.content.decode())


@pytest.fixture
def reader(analyst_nr):
    """Who reads the brief: the cast's analyst cleared NR."""
    return analyst_nr


def test_it_holds_memberships_coverage_gaps_upcoming_and_latest(client, reader):
    make_engagement(
        title="Maritime staff talks",
        partners=["IDN"],
        pillars=["security"],
        start_date=days(-40),
        marking="NR",
        outcomes="Agreed a joint patrol schedule.",
    )
    make_engagement(
        title="Dialogue forum", partners=["IDN", "JPN"], pillars=["dialogue"], start_date=days(-60)
    )
    make_engagement(
        title="Port visit",
        partners=["IDN"],
        pillars=["economic"],
        start_date=days(-400),  # outside both periods: economic is a gap since then
    )
    make_engagement(
        title="Cyber workshop",
        status="planned",
        partners=["IDN"],
        pillars=["security"],
        start_date=days(10),
        location="Jakarta",
    )
    make_engagement(title="Operation Nebula", partners=["IDN"], start_date=days(-5), marking="NC")
    make_engagement(title="Other partner", partners=["JPN"], start_date=days(-5))

    client.force_login(reader)
    response = client.get("/partners/IDN/brief/")
    text = text_of(response)
    assert "Indonesia" in text
    assert "Association of Southeast Asian Nations (ASEAN, since 1967-08-08)" in text
    # Coverage, worked out by hand: security 1, dialogue 1 (the NC one is not seen).
    assert f"Enhanced Dialogue and Cooperation 1 {days(-60).isoformat()}" in text
    assert f"Shared Security Concerns 1 {days(-40).isoformat()}" in text
    assert "Economic Cooperation 0 —" in text
    assert "Humanitarian Assistance and Disaster Relief 0 —" in text
    assert "All pillars 2" in text
    # Gaps (6 months): economic, last 400 days ago; HADR never.
    gaps = text.split("Gaps:")[1].split("Upcoming")[0]
    assert f"Economic Cooperation {days(-400).isoformat()}" in gaps
    assert "Humanitarian Assistance and Disaster Relief never" in gaps
    assert "Shared Security" not in gaps and "Dialogue" not in gaps
    upcoming = text.split("Upcoming planned engagements")[1].split("Latest completed")[0]
    assert "Cyber workshop" in upcoming and "Jakarta" in upcoming
    assert "Maritime staff talks" not in upcoming
    latest = text.split("Latest completed engagements")[1]
    assert "Maritime staff talks" in latest and "Agreed a joint patrol schedule." in latest
    assert latest.index("Maritime staff talks") < latest.index("Dialogue forum")
    assert "Cyber workshop" not in latest
    assert "Nebula" not in text and "Other partner" not in text
    # The highest marking it draws on (NR), at its top and bottom.
    assert marking_lines(response) == ["NATO RESTRICTED", "NATO RESTRICTED"]
    assert 'class="brief brief-NR"' in response.content.decode()


def test_it_lists_only_the_ten_latest_completed(client, reader):
    for n in range(12):
        make_engagement(title=f"Talks number {n:02d}", partners=["IDN"], start_date=days(-n - 1))
    client.force_login(reader)
    latest = text_of(client.get("/partners/IDN/brief/")).split("Latest completed engagements")[1]
    assert [f"Talks number {n:02d}" in latest for n in range(12)] == [True] * 10 + [False] * 2


def test_the_marking_is_the_highest_of_what_it_draws_on(client, reader):
    # An NR engagement long ago that still sets the HADR gap's "last" date: NR.
    make_engagement(partners=["IDN"], pillars=["hadr"], start_date=days(-700), marking="NR")
    client.force_login(reader)
    response = client.get("/partners/IDN/brief/")
    assert days(-700).isoformat() in text_of(response)
    assert marking_lines(response) == ["NATO RESTRICTED"] * 2

    # A newer NU one now sets it, and ten newer ones push the NR one off the latest
    # completed: it no longer shows anywhere, nor marks the brief.
    make_engagement(partners=["IDN"], pillars=["hadr"], start_date=days(-500))
    for n in range(10):
        make_engagement(partners=["IDN"], pillars=["dialogue"], start_date=days(-600 + n))
    response = client.get("/partners/IDN/brief/")
    assert days(-700).isoformat() not in text_of(response)
    assert marking_lines(response) == ["NATO UNCLASSIFIED"] * 2


def test_a_reader_cleared_nu_gets_an_nu_brief_without_what_is_above_it(client):
    make_engagement(
        title="Operation Pulsar",
        partners=["IDN"],
        start_date=days(3),
        marking="NS",
        status="planned",
    )
    make_engagement(title="Open workshop", partners=["IDN"], start_date=days(-3))
    client.force_login(make_user(Role.MANAGER, Marking.NU))
    response = client.get("/partners/IDN/brief/")
    assert "Open workshop" in text_of(response) and "Pulsar" not in text_of(response)
    assert marking_lines(response) == ["NATO UNCLASSIFIED"] * 2


def test_it_is_printable_and_the_profile_links_to_it(client, reader):
    client.force_login(reader)
    profile = client.get("/partners/IDN/").content.decode()
    assert 'href="/partners/IDN/brief/">Print brief</a>' in profile
    brief = client.get("/partners/IDN/brief/").content.decode()
    assert '<link rel="stylesheet" href="/static/css/print.css">' in brief
    assert client.get("/partners/NOPE/brief/").status_code == 404


def target(partner, pillar, minimum, months):
    return Target.objects.create(
        partner=Partner.objects.get(code=partner),
        pillar=Pillar.objects.get(code=pillar),
        minimum=minimum,
        months=months,
    )


def section(text, heading, following):
    return text.split(heading)[1].split(following)[0]


def test_it_holds_targets_open_actions_and_high_risk_plans(client, reader):
    talks = make_engagement(
        title="Maritime staff talks",
        partners=["IDN"],
        pillars=["security"],
        start_date=days(-40),
        marking="NR",
    )
    make_engagement(
        title="Cyber workshop",
        status="planned",
        escalation_risk="high",
        partners=["IDN"],
        pillars=["security"],
        start_date=days(20),
    )
    make_engagement(partners=["IDN"], pillars=["economic"], start_date=days(-400))
    naval = make_engagement(
        title="Naval exercise",
        status="planned",
        escalation_risk="high",
        partners=["JPN", "IDN"],
        start_date=days(50),
    )
    Review.objects.create(engagement=naval, decision="cleared", note="Proportionate.")
    # Above the reader (NC): a planned economic engagement with an action and no review.
    nebula = make_engagement(
        title="Operation Nebula",
        status="planned",
        escalation_risk="high",
        partners=["IDN"],
        pillars=["economic"],
        start_date=days(10),
        marking="NC",
    )
    elsewhere = make_engagement(
        title="Tokyo plan", status="planned", escalation_risk="high", start_date=days(5)
    )
    target("IDN", "security", 2, 3)  # 1 done (NR, day -40) + 1 planned (day 20): planned
    target("IDN", "economic", 1, 6)  # none in 6 months, last day -400: behind
    target("JPN", "dialogue", 1, 6)  # another partner's: not in this brief
    owner = make_user(Role.ANALYST, Marking.NS, username="owner")
    for engagement, title, due, status in [
        (talks, "Send the minutes", days(-3), "open"),
        (talks, "Book the room", days(-9), "done"),
        (naval, "Agree the route", days(30), "open"),
        (nebula, "Nebula follow-up", days(1), "open"),
        (elsewhere, "Tokyo follow-up", days(1), "open"),
    ]:
        Action.objects.create(
            engagement=engagement, title=title, owner=owner, due=due, status=status
        )

    client.force_login(reader)
    response = client.get("/partners/IDN/brief/")
    text = text_of(response)
    targets = section(text, "Targets and their status", "Upcoming")
    security = section(targets, "Shared Security Concerns", "Economic")
    assert security.startswith(" at least 2 every 3 months 1 since")
    assert " 1 to " in security
    assert f"{days(-40).isoformat()} planned" in security
    economic = targets.split("Economic Cooperation")[1]
    assert economic.startswith(" at least 1 every 6 months 0 since")
    assert " 0 to " in economic and f"{days(-400).isoformat()} behind" in economic
    assert "Dialogue" not in targets and "Japan" not in targets  # JPN's target
    # Open actions, by due date: the minutes (overdue), the route; not the done one, not
    # those of the NC or the other partner's engagements.
    actions = section(text, "Open follow-up actions", "Latest completed")
    assert actions.index("Send the minutes") < actions.index("Agree the route")
    assert f"{days(-3).isoformat()} overdue" in actions
    assert "Maritime staff talks" in actions and "Naval exercise" in actions
    for absent in ("Book the room", "Nebula", "Tokyo"):
        assert absent not in actions
    # High-risk plans of Indonesia, soonest first, with their review.
    risks = text.split("Escalation review")[1]
    assert f"{days(20).isoformat()} Cyber workshop Indonesia needs review" in risks
    assert f"{days(50).isoformat()} Naval exercise Japan; Indonesia cleared" in risks
    assert "Nebula" not in text and "Tokyo" not in text
    assert marking_lines(response) == ["NATO RESTRICTED"] * 2

    # Cleared NC, the economic target is planned (the NC plan counts), and the NC plan's
    # action and missing review are listed.
    client.force_login(make_user(Role.ANALYST, Marking.NC))
    response = client.get("/partners/IDN/brief/")
    text = text_of(response)
    economic = section(text, "Targets and their status", "Upcoming").split("Economic")[1]
    assert f"{days(-400).isoformat()} planned" in economic
    assert "Nebula follow-up" in section(text, "Open follow-up actions", "Latest completed")
    assert f"{days(10).isoformat()} Operation Nebula Indonesia needs review" in text
    assert marking_lines(response) == ["NATO CONFIDENTIAL"] * 2


@pytest.mark.parametrize("through", ["action", "risk", "target"])
def test_the_marking_counts_what_targets_actions_and_reviews_draw_on(client, through):
    """An NC engagement that shows in none of the other sections marks the brief NC once
    an open action, a high-risk plan or a target draws on it."""
    reader = make_user(Role.ANALYST, Marking.NC)
    if through == "target":
        # Ten newer completed NU ones keep it off the latest; the NU one 30 days ago
        # closes the gap; 500 days ago is outside the coverage period but in 24 months.
        for n in range(10):
            make_engagement(partners=["IDN"], pillars=["dialogue"], start_date=days(-30 - n))
        secret = make_engagement(
            partners=["IDN"], pillars=["dialogue"], start_date=days(-500), marking="NC"
        )
    else:
        # Still planned though its start date is past: not upcoming, counted nowhere.
        secret = make_engagement(
            partners=["IDN"], status="planned", start_date=days(-10), marking="NC"
        )
    client.force_login(reader)
    assert marking_lines(client.get("/partners/IDN/brief/")) == ["NATO UNCLASSIFIED"] * 2
    if through == "action":
        Action.objects.create(engagement=secret, title="Chase", owner=reader, due=days(3))
    elif through == "risk":
        secret.escalation_risk = "high"
        secret.save()
    else:
        target("IDN", "dialogue", 1, 24)
    response = client.get("/partners/IDN/brief/")
    assert marking_lines(response) == ["NATO CONFIDENTIAL"] * 2
    if through == "target":
        assert "at least 1 every 24 months 11 since" in text_of(response)


def test_brief_query_count(client, reader, django_assert_num_queries):
    for n in range(5):
        make_engagement(partners=["IDN", "JPN"], pillars=["security"], start_date=days(-n))
        make_engagement(
            partners=["IDN"], status="planned", escalation_risk="high", start_date=days(n + 1)
        )
    for code in ["security", "dialogue", "economic"]:
        target("IDN", code, 2, 6)
    for engagement in Engagement.objects.all():
        for n in range(2):
            Action.objects.create(engagement=engagement, title="Do", owner=reader, due=days(n))
    client.force_login(reader)
    # session, user, its groups and permissions (the role, "Log engagement" in the
    # header); the partner; coverage: data stamp, pillars, partner,
    # summaries (months, days); gaps: data stamp, summaries (months, days), pillars,
    # partners; upcoming and latest: rows, partner links, pillars each; plan: targets,
    # summaries of their windows (months, days), summaries for `last` (months, days);
    # open actions with their engagements and owners; risks: engagements with their
    # review, partner links (the marking comes with those: no query of its own); the
    # brief's audit entry, an export; pillars (coverage cells); the actions the reader may
    # change; memberships, members; the header's count of unread notifications.
    with django_assert_num_queries(33 + AUDIT_ENTRY_QUERIES):
        assert client.get("/partners/IDN/brief/").status_code == 200
