"""The private calendar feed (/calendar/<token>.ics): what it holds, parsed back with two
iCalendar parsers, its address and its reset, and who it closes for."""

import datetime
import re

import icalendar
import pytest
import vobject
from django.utils import timezone

from accounts.choices import Marking, Role
from accounts.models import CalendarFeed
from engagements.models import Engagement
from tests.factories import AUDIT_ENTRY_QUERIES, make_engagement, make_user

pytestmark = pytest.mark.usefixtures("reference_data")

TODAY = timezone.localdate


def days(n):
    return TODAY() + datetime.timedelta(days=n)


def address_of(client, user):
    """The feed's path as /calendar/ shows it to `user`."""
    client.force_login(user)
    page = client.get("/calendar/").content.decode()
    client.logout()
    return re.search(r'value="http://testserver(/calendar/[^"]+\.ics)"', page).group(1)


def events_of(response):
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    calendar = icalendar.Calendar.from_ical(response.content)
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


@pytest.fixture
def reader(analyst_nr):
    """Whose feed it is: the cast's analyst cleared NR."""
    return analyst_nr


def test_it_holds_planned_and_completed_engagements_from_90_days_back_to_a_year_ahead(
    client, reader
):
    planned = make_engagement(
        title="Staff talks in Tokyo",
        status="planned",
        start_date=days(10),
        end_date=days(12),
        location="Tokyo",
        partners=["JPN", "KOR"],
        pillars=["security", "dialogue"],
        marking="NR",
    )
    completed = make_engagement(
        title="Flood response drill", start_date=days(-90), pillars=["hadr"]
    )
    last_day = make_engagement(status="planned", start_date=days(365))
    make_engagement(title="Cancelled", status="cancelled", start_date=days(5))
    make_engagement(title="Too old", start_date=days(-91))
    make_engagement(title="Too far", status="planned", start_date=days(366))
    make_engagement(title="Above clearance", start_date=days(5), marking="NC")

    events = events_of(client.get(address_of(client, reader)))

    assert set(events) == {
        f"engagement-{planned.pk}@testserver",
        f"engagement-{completed.pk}@testserver",
        f"engagement-{last_day.pk}@testserver",
    }
    event = events[f"engagement-{planned.pk}@testserver"]
    # Marked: the marking in brackets first, and private (CONTRACT.md, "Markings").
    assert str(event["SUMMARY"]) == "[NR] Staff talks in Tokyo"
    assert str(event["CLASS"]) == "PRIVATE"
    assert event["DTSTART"].dt == days(10)
    assert event["DTEND"].dt == days(13)  # exclusive: the day after the end date
    assert event["DTSTART"].params.get("VALUE") == "DATE"
    assert str(event["STATUS"]) == "TENTATIVE"
    assert str(event["LOCATION"]) == "Tokyo"
    description = str(event["DESCRIPTION"])
    assert "Japan (JPN)" in description and "Republic of Korea (KOR)" in description
    assert "Enhanced Dialogue and Cooperation" in description
    assert "Shared Security Concerns" in description
    assert f"http://testserver/engagements/{planned.pk}/" in description

    event = events[f"engagement-{completed.pk}@testserver"]
    assert str(event["STATUS"]) == "CONFIRMED"
    assert event["DTSTART"].dt == days(-90)
    assert event["DTEND"].dt == days(-89)  # no end date: the day after the start
    assert "LOCATION" not in event


def test_a_second_parser_reads_the_same_feed(client, reader):
    engagement = make_engagement(
        title="Coastguard seminar; Manila, part 2",
        status="planned",
        start_date=days(3),
        end_date=days(4),
        location="Manila, Philippines",
        partners=["PHL"],
    )
    body = client.get(address_of(client, reader)).content.decode()
    calendar = vobject.readOne(body)
    (event,) = calendar.vevent_list
    assert event.uid.value == f"engagement-{engagement.pk}@testserver"
    assert event.summary.value == "[NU] Coastguard seminar; Manila, part 2"
    assert event.contents["class"][0].value == "PRIVATE"
    assert event.location.value == "Manila, Philippines"
    assert event.dtstart.value == days(3)
    assert event.dtend.value == days(5)
    assert event.status.value == "TENTATIVE"
    assert "Philippines (PHL)" in event.description.value


def test_long_titles_are_folded_at_75_octets(client, reader):
    title = "Ministerial dialogue on maritime domain awareness — Ōsaka, Jeju, Nukuʻalofa " * 3
    title = title.strip()
    make_engagement(title=title, start_date=days(1), location="Nukuʻalofa " * 10)
    body = client.get(address_of(client, reader)).content
    lines = body.split(b"\r\n")
    assert max(len(line) for line in lines) <= 75
    assert any(line.startswith(b" ") for line in lines)  # it was folded
    for line in lines:
        line.decode()  # no line cut inside a UTF-8 character
    unfolded = body.replace(b"\r\n ", b"").decode()
    escaped = title.replace(",", "\\,")  # RFC 5545 escapes commas in text
    assert f"SUMMARY:[NU] {escaped}\r\n" in unfolded
    (event,) = vobject.readOne(body.decode()).vevent_list
    assert event.summary.value == f"[NU] {title}"


def test_an_engagement_above_the_readers_clearance_is_never_in_the_feed(client, manager_nu):
    reader = manager_nu
    visible = make_engagement(title="Open workshop", start_date=days(2))
    secret = make_engagement(title="Operation Pulsar", start_date=days(2), marking="NS")
    address = address_of(client, reader)
    body = client.get(address).content.decode()
    assert "Open workshop" in body
    assert "Pulsar" not in body and f"engagement-{secret.pk}@" not in body

    # Raised to NS: gone at the next request (nothing cached between requests).
    Engagement.objects.filter(pk=visible.pk).update(marking="NS")
    body = client.get(address).content.decode()
    assert "Open workshop" not in body and f"engagement-{visible.pk}@" not in body


def test_reset_gives_a_new_address_and_the_old_one_is_dead_at_once(client, reader):
    make_engagement(title="Open workshop", start_date=days(2))
    old = address_of(client, reader)
    assert client.get(old).status_code == 200
    assert address_of(client, reader) == old  # shown again, unchanged

    client.force_login(reader)
    response = client.post("/calendar/reset/")
    assert response.status_code == 302 and response.url == "/calendar/"
    new = address_of(client, reader)
    assert new != old
    assert client.get(old).status_code == 404
    assert "Open workshop" in client.get(new).content.decode()


def test_reset_is_a_post(client, reader):
    client.force_login(reader)
    assert client.get("/calendar/reset/").status_code == 405


def test_the_token_is_long_random_and_stored_only_hashed(client, reader):
    path = address_of(client, reader)
    token = path.removeprefix("/calendar/").removesuffix(".ics")
    assert re.fullmatch(r"[0-9a-f]{64}", token)  # 256 bits
    feed = CalendarFeed.objects.get(user=reader)
    stored = " ".join(str(value) for value in CalendarFeed.objects.filter(pk=feed.pk).values())
    assert token not in stored
    assert feed.token_hash == __import__("hashlib").sha256(token.encode()).hexdigest()
    other = make_user(Role.ANALYST, Marking.NR)
    assert address_of(client, other) != path


@pytest.mark.parametrize("change", ["deactivate", "remove role"])
def test_a_deactivated_or_role_less_users_feed_is_404(client, reader, change):
    make_engagement(title="Open workshop", start_date=days(2))
    address = address_of(client, reader)
    assert client.get(address).status_code == 200
    if change == "deactivate":
        reader.is_active = False
        reader.save()
    else:
        reader.groups.clear()
    response = client.get(address)
    assert response.status_code == 404
    assert "Open workshop" not in response.content.decode()


def test_unknown_tokens_are_404(client, reader):
    address_of(client, reader)
    for token in ["0" * 64, "x", "%00", "../calendar"]:
        assert client.get(f"/calendar/{token}.ics").status_code in (400, 404)


def test_the_page_says_how_to_subscribe(client, reader):
    client.force_login(reader)
    page = client.get("/calendar/").content.decode()
    for program in ("Google Calendar", "Outlook", "Apple Calendar", "Thunderbird"):
        assert program in page


def test_feed_query_count(client, reader, django_assert_num_queries):
    for n in range(5):
        make_engagement(start_date=days(n), partners=["JPN", "KOR"], pillars=["security"])
    address = address_of(client, reader)
    # savepoint (read on the primary, in a transaction); the feed and its user (its role
    # read once, when the address was made: User.access); the engagements; their
    # partners; their pillars; the fetch's audit entry (a download, CONTRACT.md); release.
    with django_assert_num_queries(6 + AUDIT_ENTRY_QUERIES):
        assert len(events_of(client.get(address))) == 5
