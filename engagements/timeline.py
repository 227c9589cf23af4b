"""One timeline per partner (its profile and `GET /api/v1/partners/{code}/timeline/`):
its engagements, notes, actions, reviews, memberships, tip status updates that name it,
targets and people joining or leaving it, newest first, only what the reader may see, a
page at a time.

Each kind is one query per page: its items newer than nothing (the first page) or older
than the cursor, newest first, at most a page of them; the pages of all kinds are merged
and cut. Items are ordered by (when, kind, id), newest first; a cursor is the last item's
(when, kind, id), so the next page starts exactly after it, whatever else was written since.
Kinds dated by a day (engagements by their start, memberships by their joining) count
from its midnight in the site's time zone.
"""

import base64
import datetime
import heapq
import json
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone

from accounts.models import visible_markings
from engagements.models import Action, Engagement, Note, Review
from partners.models import Membership
from people.models import Affiliation, Person
from roadmap.models import Target, TipStatusUpdate

PAGE = 25
LABELS = {
    "engagement": "Engagement",
    "note": "Note",
    "action": "Action",
    "review": "Review",
    "membership": "Membership",
    "tip_status": "Tip status",
    "target": "Target",
    "person": "Person",
}


@dataclass(frozen=True)
class Item:
    at: datetime.datetime
    kind: str
    id: int
    title: str
    marking: str
    url: str
    # The id a reader is given, when it is not the row's the page is keyed by (a person
    # joining or leaving: keyed by the affiliation, showing the person).
    ref: int | None = None

    def key(self):
        return (self.at, self.kind, self.id)

    @property
    def label(self):
        return LABELS[self.kind]

    def as_dict(self):
        return {
            "at": self.at.isoformat(),
            "kind": self.kind,
            "id": self.ref or self.id,
            "title": self.title,
            "marking": self.marking,
        }


def timeline(user, partner, cursor=None, size=PAGE):
    """(items, next cursor or None): a page of `partner`'s timeline as `user` may see it,
    after `cursor` (a string this function gave). Raises ValidationError for a cursor it
    did not give."""
    after = _decode(cursor) if cursor else None
    kinds = [
        _engagements,
        _notes,
        _actions,
        _reviews,
        _memberships,
        _tip_statuses,
        _targets,
        _joined,
        _left,
    ]
    pieces = [kind(user, partner, after, size + 1) for kind in kinds]
    merged = list(heapq.merge(*pieces, key=lambda item: item.key(), reverse=True))
    page = merged[:size]
    more = len(merged) > size
    return page, (_encode(page[-1].key()) if more else None)


# The cursor -----------------------------------------------------------------------------


def _encode(key):
    at, kind, pk = key
    raw = json.dumps([at.isoformat(), kind, pk]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor):
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, kind, pk = json.loads(raw)
        at = datetime.datetime.fromisoformat(at)
        if timezone.is_naive(at) or not isinstance(kind, str) or not isinstance(pk, int):
            raise ValueError(cursor)
    except (ValueError, TypeError, json.JSONDecodeError):
        raise ValidationError("This page link is not valid: go back to the first page.") from None
    return at, kind, pk


def _older(after, kind, field, date=False):
    """The condition on `field` (a date or date-time) and id for items of `kind` that come
    after the cursor `after` (newest first, then kind and id descending)."""
    if after is None:
        return Q()
    at, cursor_kind, cursor_id = after
    if date:
        day = timezone.localtime(at).date()
        if _midnight(day) != at:  # the cursor is later that day: the whole day comes after
            return Q(**{f"{field}__lte": day})
        at = day
    before = Q(**{f"{field}__lt": at})
    if kind > cursor_kind:  # at the same moment, this kind came first: shown already
        return before
    same = Q(**{field: at})
    if kind < cursor_kind:
        return before | same
    return before | (same & Q(id__lt=cursor_id))


def _midnight(day):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _newest(queryset, field, after, kind, size, date=False):
    return queryset.filter(_older(after, kind, field, date)).order_by(f"-{field}", "-id")[:size]


# Each kind ------------------------------------------------------------------------------


def _engagements(user, partner, after, size):
    rows = _newest(
        Engagement.objects.restrict(user).filter(partner_links__partner=partner),
        "start_date",
        after,
        "engagement",
        size,
        date=True,
    ).only("title", "start_date", "marking")
    return [
        Item(_midnight(e.start_date), "engagement", e.pk, e.title, e.marking, e.get_absolute_url())
        for e in rows
    ]


def _notes(user, partner, after, size):
    notes = Note.objects.restrict(user).filter(
        Q(partner=partner) | Q(engagement__partner_links__partner=partner)
    )
    rows = _newest(notes, "at", after, "note", size).select_related("engagement", "partner")
    return [
        Item(
            note.at,
            "note",
            note.pk,
            _first_line(note.body),
            note.marking,
            (note.engagement or note.partner).get_absolute_url() + "#notes",
        )
        for note in rows
    ]


def _actions(user, partner, after, size):
    return _of_engagements(
        Action.objects.restrict(user),
        partner,
        "created_at",
        "action",
        after,
        size,
        lambda action: f"Action: {action.title}",
        "#actions",
    )


def _reviews(user, partner, after, size):
    return _of_engagements(
        Review.objects.restrict(user),
        partner,
        "at",
        "review",
        after,
        size,
        lambda review: f"Review ({review.get_decision_display()}): {review.engagement.title}",
        "#review",
    )


def _of_engagements(records, partner, field, kind, after, size, title, anchor):
    """Records that hang on the partner's engagements (through their own gate), marked as
    their engagement, linked to its page's `anchor`."""
    rows = _newest(
        records.filter(engagement__partner_links__partner=partner), field, after, kind, size
    ).select_related("engagement")
    return [
        Item(
            getattr(record, field),
            kind,
            record.pk,
            title(record),
            record.engagement.marking,
            record.engagement.get_absolute_url() + anchor,
        )
        for record in rows
    ]


def _memberships(user, partner, after, size):
    if not visible_markings(user):
        return []
    memberships = Membership.objects.filter(Q(member=partner) | Q(organization=partner))
    rows = _newest(memberships, "joined", after, "membership", size, date=True).select_related(
        "member", "organization"
    )
    return [
        Item(
            _midnight(membership.joined),
            "membership",
            membership.pk,
            f"{membership.member.name} joined {membership.organization.name}",
            "NU",
            reverse("partners:detail", args=[membership.organization.code]),
        )
        for membership in rows
    ]


def _tip_statuses(user, partner, after, size):
    """Status updates whose note names the partner (its name or code), when the reader may
    read the note."""
    markings = visible_markings(user)
    if not markings:
        return []
    naming = Q(note__icontains=partner.name) | Q(note__icontains=partner.code)
    updates = TipStatusUpdate.objects.filter(naming, note_marking__in=markings)
    rows = _newest(updates, "created_at", after, "tip_status", size).select_related("tip")
    return [
        Item(
            update.created_at,
            "tip_status",
            update.pk,
            f"Tip {update.tip.number}: {update.get_status_display()}",
            update.note_marking,
            reverse("roadmap:tip", args=[update.tip.number]),
        )
        for update in rows
    ]


def _targets(user, partner, after, size):
    """Targets by when they were set (their first history row)."""
    if not visible_markings(user):
        return []
    first = Target.history.filter(id=OuterRef("pk")).order_by("history_date")
    targets = Target.objects.filter(partner=partner).annotate(
        set_at=Subquery(first.values("history_date")[:1])
    )
    rows = _newest(targets.filter(set_at__isnull=False), "set_at", after, "target", size)
    return [
        Item(
            target.set_at,
            "target",
            target.pk,
            f"Target: {target.minimum} in {target.months} months ({target.pillar.name})",
            "NU",
            reverse("partners:detail", args=[partner.code]) + "#targets",
        )
        for target in rows.select_related("pillar")
    ]


def _first_line(text, length=120):
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line[:length] + ("…" if len(line) > length else "")


def _joined(user, partner, after, size):
    return _affiliations(user, partner, after, size, "start", "joined")


def _left(user, partner, after, size):
    return _affiliations(user, partner, after, size, "end", "left")


def _affiliations(user, partner, after, size, field, verb):
    """People joining the partner (an affiliation's start) or leaving it (its end), when
    the reader may see the person. Both are of kind `person`, keyed by the affiliation
    (which ends strictly after it starts, so its two items never share a key)."""
    affiliations = Affiliation.objects.filter(
        partner=partner, person__in=Person.objects.restrict(user)
    )
    rows = _newest(
        affiliations.filter(**{f"{field}__isnull": False}), field, after, "person", size, date=True
    ).select_related("person")
    return [
        Item(
            _midnight(getattr(affiliation, field)),
            "person",
            affiliation.pk,
            f"{affiliation.person.name} {verb}"
            + (f" as {affiliation.title}" if affiliation.title and verb == "joined" else ""),
            affiliation.person.marking,
            affiliation.person.get_absolute_url(),
            ref=affiliation.person_id,
        )
        for affiliation in rows
    ]
