"""Change history of engagements, as readers see it: who changed what, from what to what,
redacted above the reader's clearance; deleted engagements and bringing one back.
(The rows' snapshots of the relations: engagements/snapshots.py.)
"""

from django.db.models import OuterRef, Subquery
from django.utils.text import capfirst

from engagements.models import Engagement
from engagements.snapshots import RELATION_FIELDS, TRACKED_FIELDS
from people.models import Person

ACTIONS = {"+": "created", "~": "changed", "-": "deleted"}


def _value(record, field):
    if field in RELATION_FIELDS:
        return list(getattr(record, RELATION_FIELDS[field]))
    value = getattr(record, field)
    return value.isoformat() if hasattr(value, "isoformat") else value


def engagement_history(engagement_id, user):
    """Every change, newest first: [{at, by, action, changes: {field: [old, new]}, redacted}].

    Each history row records the marking of the version it holds. A value is shown only
    if the version that held it was marked within the reader's clearance: otherwise it is
    None and the entry says `redacted`. (An NS title rewritten and lowered to NU must not
    reach an NU reader through the history.)
    """
    records = list(
        Engagement.history.filter(id=engagement_id)
        .select_related("history_user")
        .order_by("history_date", "history_id")
    )
    # People carry markings of their own: each version's people as this reader may see
    # them now (one query for every person the history names).
    named = {pk for record in records for pk in record.person_ids}
    seen_people = set(
        Person.objects.restrict(user).filter(pk__in=named).values_list("pk", flat=True)
    )
    entries = []
    previous = None
    for record in records:
        action = ACTIONS[record.history_type]
        changes = {}
        redacted = False
        if action != "deleted":
            for field in TRACKED_FIELDS:
                new = _value(record, field)
                old = _value(previous, field) if action == "changed" and previous else None
                if action == "created" and new in (None, "", []):
                    continue
                if old == new:
                    continue
                if not user.may_see(record.marking):
                    new, redacted = None, True
                if old is not None and not user.may_see(previous.marking):
                    old, redacted = None, True
                changes[field] = [old, new]
            people = _people(record, previous if action == "changed" else None, seen_people)
            if people is not None:
                old, new = people
                if not user.may_see(record.marking):
                    new, redacted = None, True
                if old is not None and not user.may_see(previous.marking):
                    old, redacted = None, True
                changes["people"] = [old, new]
        entries.append(
            {
                "at": record.history_date,
                "by": record.history_user.username if record.history_user else None,
                "action": action,
                "changes": changes,
                "redacted": redacted,
            }
        )
        previous = record
    entries.reverse()
    return entries


def _people(record, previous, seen):
    """[old, new] ids of the people a reader may see, when they differ (None otherwise)."""
    new = sorted(pk for pk in record.person_ids if pk in seen)
    old = sorted(pk for pk in previous.person_ids if pk in seen) if previous else None
    if new == (old or []):
        return None
    return [old, new]


def markings_shown(entries):
    """The markings of the versions whose values `engagement_history` entries show: every
    version is marked as its `marking` field says, and a value is shown only within the
    reader's clearance (None otherwise), so the markings shown are the marking values."""
    return {
        value
        for entry in entries
        for value in entry["changes"].get("marking", ())
        if value is not None
    }


def deleted_engagements(user):
    """The last history row of each deleted engagement, if this user may see it, newest
    first. Only the last deletion counts: an engagement deleted at NU, restored, raised to
    NS and deleted again is an NS engagement's deletion, for NS readers only."""
    last = (
        Engagement.history.filter(id=OuterRef("id"), history_type="-")
        .order_by("-history_date", "-history_id")
        .values("history_id")[:1]
    )
    return (
        Engagement.history.filter(history_type="-")
        .restrict(user)
        .filter(history_id=Subquery(last))
        .exclude(id__in=Engagement.objects.values("id"))
        .select_related("history_user")
        .order_by("-history_date")
    )


# Reading the history (and the edit-conflict screen): the API keeps field names and codes
# (the contract); pages show labels and names. Display only: redaction happens before.


def field_label(field):
    """ "Escalation risk" for `escalation_risk`: the model field's verbose name."""
    return capfirst(Engagement._meta.get_field(field).verbose_name)


class Names:
    """Names for the codes a history value holds: one query per kind of code, read once."""

    def __init__(self, person_ids=()):
        from partners.models import Partner
        from roadmap.models import Facet, Pillar, Tip

        self.codes = {
            "partners": dict(Partner.objects.values_list("code", "name")),
            "pillars": dict(Pillar.objects.values_list("code", "name")),
            "facets": dict(Facet.objects.values_list("code", "name")),
            "tips": {
                number: f"{number}. {title}"
                for number, title in Tip.objects.values_list("number", "title")
            },
        }
        # The people a history shows are only those its reader may see (engagement_history).
        named = Person.objects.filter(pk__in=person_ids) if person_ids else []
        self.codes["people"] = {person.pk: person.name for person in named}

    def value(self, field, value):
        """A stored value as a person reads it: a choice's label, a code's name (None, a
        redacted value, stays None)."""
        if value is None:
            return None
        if field in self.codes:
            return [self.codes[field].get(code, code) for code in value]
        choices = Engagement._meta.get_field(field).choices
        if choices and field != "marking":  # markings are read as their codes
            return dict(choices).get(value, value)
        return value


def readable_history(entries):
    """The entries of `engagement_history` for the page: each gets `readable`, a list of
    (label, [old, new]) with names instead of codes; `changes` stays as the API has it."""
    person_ids = {
        pk for entry in entries for ids in entry["changes"].get("people", ()) for pk in ids or ()
    }
    names = Names(person_ids) if entries else None
    for entry in entries:
        entry["readable"] = [
            (field_label(field), [names.value(field, old), names.value(field, new)])
            for field, (old, new) in entry["changes"].items()
        ]
    return entries
