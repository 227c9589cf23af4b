"""Bulk edit (`POST /api/v1/engagements/bulk/` and the list's bar): one change applied to
several engagements, each item its own versioned write through the one write service
(`save_engagement`), so every rule, the history, the summaries and the notifications are
exactly those of a single edit. An item that is stale, hidden or breaks a rule is
reported and skipped; the others land. A selection of more than BULK_JOB_ITEMS runs as a
background job (engagements.tasks.bulk_edit_job) with progress.

What may change: `set` status, escalation risk and kind, and the marking (only raised:
lowering one is a decision to take one engagement at a time); `add` and `remove`
partners, pillars, facets and tips.
"""

from django.core.exceptions import ValidationError

from accounts.choices import Marking
from core.errors import StaleVersion
from engagements.exports import with_relations
from engagements.models import Engagement
from engagements.services import NotVisible, save_engagement
from partners.models import Partner
from roadmap.models import Facet, Pillar, Tip

BULK_JOB_ITEMS = 200
SETTABLE = ("status", "escalation_risk", "kind", "marking")
# Each relation: its model and the field that names a row (as the API does).
RELATIONS = {
    "partners": (Partner, "code"),
    "pillars": (Pillar, "code"),
    "facets": (Facet, "code"),
    "tips": (Tip, "number"),
}


def bulk_edit(user, items, set_=None, add=None, remove=None, step=None):
    """Apply the change to each of `items` ([(id, version)]) as `user`: `set_` {field:
    value} of SETTABLE, `add` and `remove` {relation: [objects]}. Returns a result per
    item, in order: {id, outcome (ok, conflict, not_found, invalid), version (the stored
    one, when the item is visible), errors {field: [messages]}}. `step(done, total)`
    after each."""
    set_, add, remove = set_ or {}, add or {}, remove or {}
    ids = [pk for pk, _ in items]
    current = {
        engagement.pk: engagement
        for engagement in with_relations(Engagement.objects.restrict(user)).filter(pk__in=ids)
    }
    results = []
    for done, (pk, version) in enumerate(items, start=1):
        results.append(_edit_one(user, current.get(pk), pk, version, set_, add, remove))
        if step is not None:
            step(done, len(items))
    return results


def _edit_one(user, engagement, pk, version, set_, add, remove):
    if engagement is None:
        return _result(pk, "not_found")
    data = dict(set_)
    if "marking" in data and Marking.rank(data["marking"]) < Marking.rank(engagement.marking):
        message = f"A marking may only be raised here; this one is {engagement.marking}."
        return _result(pk, "invalid", engagement.version, {"marking": [message]})
    for name in RELATIONS:
        if name in add or name in remove:
            now = _related(engagement, name)
            gone = {obj.pk for obj in remove.get(name, [])}
            kept = [obj for obj in now if obj.pk not in gone]
            data[name] = kept + [obj for obj in add.get(name, []) if obj not in kept]
    if _unchanged(engagement, data):  # nothing to write: no new version, nobody told
        if engagement.version != version:
            return _result(pk, "conflict", engagement.version)
        return _result(pk, "ok", engagement.version)
    try:
        saved = save_engagement(user, data, pk, version)
    except StaleVersion:
        stored = Engagement.objects.restrict(user).filter(pk=pk).values_list("version", flat=True)
        return _result(pk, "conflict", stored.first())
    except NotVisible:
        return _result(pk, "not_found")
    except ValidationError as error:
        return _result(pk, "invalid", engagement.version, error.message_dict)
    return _result(pk, "ok", saved.version)


def _unchanged(engagement, data):
    """Whether writing `data` would leave the engagement as it is."""
    for name, value in data.items():
        if name in RELATIONS:
            if [obj.pk for obj in value] != [obj.pk for obj in _related(engagement, name)]:
                return False
        elif getattr(engagement, name) != value:
            return False
    return True


def _related(engagement, name):
    if name == "partners":  # lead first, as stored
        return [link.partner for link in engagement.partner_links.all()]
    return list(getattr(engagement, name).all())


def _result(pk, outcome, version=None, errors=None):
    return {"id": pk, "outcome": outcome, "version": version, "errors": errors or {}}


def as_codes(changes):
    """{relation: [objects]} as {relation: [codes]} (a job's arguments are JSON)."""
    return {
        name: [getattr(obj, RELATIONS[name][1]) for obj in objects]
        for name, objects in changes.items()
    }


def from_codes(changes):
    """{relation: [codes]} back as {relation: [objects]}; a code gone since is left out."""
    found = {}
    for name, codes in changes.items():
        model, field = RELATIONS[name]
        table = model.objects.in_bulk(codes, field_name=field)
        found[name] = [table[code] for code in codes if code in table]
    return found
