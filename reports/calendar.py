"""The private calendar feed: the engagements a user may see, as RFC 5545 (iCalendar).

Built with the `icalendar` package, which escapes text and folds long lines at 75
octets (never inside a UTF-8 character) as the RFC asks.

Each event is marked: its SUMMARY starts with its marking in brackets (`[NR] Staff talks`,
what a calendar shows of it) and it is `CLASS:PRIVATE`, so that a shared calendar shows
others only that the time is taken.
"""

import datetime
from typing import NamedTuple

import icalendar
from django.db.models import Prefetch
from django.utils import timezone

from accounts.choices import Marking
from engagements.choices import EngagementStatus
from engagements.models import Engagement
from partners.models import Partner
from roadmap.models import Pillar

DAYS_BACK = 90
DAYS_AHEAD = 365
EVENT_STATUS = {EngagementStatus.PLANNED: "TENTATIVE", EngagementStatus.COMPLETED: "CONFIRMED"}


def feed_engagements(user, today=None):
    """Visible planned and completed engagements starting 90 days ago to a year ahead,
    with their partners and pillars: three queries."""
    today = today or timezone.localdate()
    return (
        Engagement.objects.restrict(user)
        .filter(
            status__in=list(EVENT_STATUS),
            start_date__range=(
                today - datetime.timedelta(days=DAYS_BACK),
                today + datetime.timedelta(days=DAYS_AHEAD),
            ),
        )
        .order_by("start_date", "id")
        .prefetch_related(
            Prefetch("partners", queryset=Partner.objects.order_by("name")),
            Prefetch("pillars", queryset=Pillar.objects.order_by("order")),
        )
    )


class Feed(NamedTuple):
    body: bytes  # the calendar
    events: int
    marking: str  # the highest marking among the events (NU when there are none)


def feed(user, host, absolute_url):
    """The calendar (`Feed`). `host` goes into each UID (`engagement-<id>@<host>`);
    `absolute_url(path)` makes the link to an engagement's page."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Partnership Engagement Tracker//Calendar feed//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", "Engagements")
    markings = []
    for engagement in feed_engagements(user):
        markings.append(engagement.marking)
        event = icalendar.Event()
        event.add("uid", f"engagement-{engagement.pk}@{host}")
        event.add("dtstamp", engagement.updated_at)
        event.add("last-modified", engagement.updated_at)
        event.add("sequence", engagement.version)
        event.add("summary", f"[{engagement.marking}] {engagement.title}")
        event.add("class", "PRIVATE")
        # All-day: DTEND is exclusive, the day after the last day.
        event.add("dtstart", engagement.start_date)
        last_day = engagement.end_date or engagement.start_date
        event.add("dtend", last_day + datetime.timedelta(days=1))
        if engagement.location:
            event.add("location", engagement.location)
        url = absolute_url(engagement.get_absolute_url())
        partners = ", ".join(f"{p.name} ({p.code})" for p in engagement.partners.all())
        pillars = ", ".join(pillar.name for pillar in engagement.pillars.all())
        event.add(
            "description",
            f"Marking: {engagement.marking}\nPartners: {partners}\nPillars: {pillars}\n{url}",
        )
        event.add("url", url)
        event.add("status", EVENT_STATUS[engagement.status])
        calendar.add_component(event)
    return Feed(calendar.to_ical(), len(markings), Marking.highest(markings))
