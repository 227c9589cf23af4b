"""The edit-conflict screen: someone saved an engagement while another person edited it.

Every tracked field side by side: the version the person started from ("original", read
from the history), the version saved since ("theirs") and the person's input ("yours").
A field only one side changed keeps that side's value unless the person picks otherwise;
a field both changed differently, or whose original is unknown, the person must pick.
The picked values are saved through the one write service on top of the version the
screen showed, so a save made meanwhile is a new conflict, never a silent overwrite.

Only versions the reader may see are shown: "theirs" comes through `restrict()` (the
view's job), the original only if its history row is marked within the reader's clearance.
"""

from types import SimpleNamespace

from engagements.choices import PartnerRole
from engagements.history import Names, field_label
from engagements.models import Engagement
from engagements.snapshots import (
    RELATION_FIELDS,
    SNAPSHOT_FIELDS,
    TRACKED_FIELDS,
    relation_snapshot,
)
from people.models import Person

SCALARS = [name for name in TRACKED_FIELDS if name not in RELATION_FIELDS]
# The rows of the screen: the tracked fields, then who took part (as far as the person may
# see them; the write service keeps the others).
COMPARED = [*TRACKED_FIELDS, "people"]
# The form fields that carry a tracked field (the partners' roles ride with the partners).
FORM_FIELDS = {"partners": ("partners", "lead_partner", "observers")}
MINE, THEIRS = "mine", "theirs"
# What the conflict form posts besides the person's own input.
CONTROL = {"csrfmiddlewaretoken", "version", "resolve", "base_version", "confirm_duplicate"}


def _values(obj, snapshot, seen=frozenset()):
    """A version's tracked fields in one comparable shape, whatever it was read from; its
    people, those of `seen` (the ids the reader may see)."""
    values = {}
    for name in SCALARS:
        value = getattr(obj, name)
        if hasattr(value, "isoformat"):
            value = value.isoformat()
        # A browser sends a text box's lines ending in \r\n; the API may have stored \n.
        values[name] = (value or "").replace("\r\n", "\n")
    roles = snapshot["partner_roles"]
    codes = snapshot["partner_codes"]
    partners = [(code, roles.get(code, PartnerRole.PARTICIPANT)) for code in codes]
    values["partners"] = tuple(sorted(partners))
    values["pillars"] = tuple(sorted(snapshot["pillar_codes"]))
    values["facets"] = tuple(sorted(snapshot["facet_codes"]))
    values["tips"] = tuple(sorted(snapshot["tip_numbers"]))
    values["people"] = tuple(sorted(pk for pk in snapshot.get("person_ids", ()) if pk in seen))
    return values


def _form_values(form):
    data = form.cleaned_data
    roles = form.partner_roles()
    snapshot = {
        "partner_codes": [partner.code for partner in data["partners"]],
        "partner_roles": {partner.code: roles[partner.pk] for partner in data["partners"]},
        "pillar_codes": [pillar.code for pillar in data["pillars"]],
        "facet_codes": [facet.code for facet in data["facets"]],
        "tip_numbers": [tip.number for tip in data["tips"]],
        "person_ids": [person.pk for person in data["people"]],
    }
    scalars = SimpleNamespace(**{name: data[name] for name in SCALARS})
    return _values(scalars, snapshot, {person.pk for person in data["people"]})


def original_record(engagement_id, version, user):
    """The history row of the version the person started from, if they may see it."""
    if version is None:
        return None
    record = (
        Engagement.history.filter(id=engagement_id, version=version)
        .exclude(history_type="-")
        .order_by("-history_date", "-history_id")
        .first()
    )
    return record if record is not None and user.may_see(record.marking) else None


def last_saved(engagement):
    """(username or None, when) of the save that made the engagement's current version."""
    record = (
        Engagement.history.filter(id=engagement.pk, version=engagement.version)
        .select_related("history_user")
        .order_by("-history_date", "-history_id")
        .first()
    )
    if record is None:
        return None, engagement.updated_at
    return (record.history_user.username if record.history_user else None), record.history_date


def picks(data):
    """{field: "mine" | "theirs"} as posted by the conflict form."""
    chosen = {name: data.get(f"pick_{name}") for name in COMPARED}
    return {name: pick for name, pick in chosen.items() if pick in (MINE, THEIRS)}


def compare(form, current, base_version, user, chosen=None):
    """Every tracked field of yours (a valid form), theirs (`current`, visible to the user)
    and the original (version `base_version`), with the pick each row starts with."""
    mine = _form_values(form)
    snapshot = relation_snapshot(current)
    record = original_record(current.pk, base_version, user)
    kept = {name: getattr(record, name) for name in SNAPSHOT_FIELDS} if record else {}
    named = {*snapshot["person_ids"], *kept.get("person_ids", ())}
    seen = set(Person.objects.restrict(user).filter(pk__in=named).values_list("pk", flat=True))
    theirs = _values(current, snapshot, seen)
    original = _values(record, kept, seen) if record else None
    names = Names(seen | set(mine["people"]))
    rows = []
    for field in COMPARED:
        differs = mine[field] != theirs[field]
        they_changed = original is not None and theirs[field] != original[field]
        you_changed = original is not None and mine[field] != original[field]
        if not differs:
            default = MINE  # the same either way
        elif original is not None and they_changed != you_changed:
            default = THEIRS if they_changed else MINE
        else:
            default = None  # both changed it, or nobody knows who did: the person picks
        rows.append(
            {
                "field": field,
                "label": field_label(field),
                "original": _display(field, original[field], names) if original else None,
                "theirs": _display(field, theirs[field], names),
                "mine": _display(field, mine[field], names),
                "differs": differs,
                "they_changed": they_changed,
                "you_changed": you_changed,
                "both_changed": differs and default is None,
                "pick": (chosen or {}).get(field, default) if differs else MINE,
            }
        )
    saved_by, saved_at = last_saved(current)
    return {
        "rows": rows,
        "missing": [row["label"] for row in rows if row["pick"] is None],
        "saved_by": saved_by,
        "saved_at": saved_at,
        "original_version": base_version if original else None,
    }


def _display(field, value, names):
    if field == "partners":
        partner_names = names.codes["partners"]
        return ", ".join(
            f"{partner_names.get(code, code)}{_role_note(role)}" for code, role in value
        )
    if field in RELATION_FIELDS or field == "people":
        return ", ".join(str(name) for name in names.value(field, list(value)))
    return names.value(field, value)


def _role_note(role):
    return "" if role == PartnerRole.PARTICIPANT else f" ({role})"


def carried_input(data):
    """The person's own input, to post again with the picks: (name, value) pairs."""
    return [
        (name, value)
        for name, values in data.lists()
        if name not in CONTROL and not name.startswith("pick_")
        for value in values
    ]


def merged_data(data, current, chosen, user):
    """The person's input with the fields picked as "theirs" taken from `current` (its
    people as far as `user` may see them)."""
    links = list(current.partner_links.select_related("partner"))
    theirs = {
        name: [
            value.isoformat()
            if hasattr(value, "isoformat")
            else ("" if value is None else str(value))
        ]
        for name in SCALARS
        for value in [getattr(current, name)]
    }
    theirs.update(
        partners=[link.partner.code for link in links],
        lead_partner=[link.partner.code for link in links if link.role == PartnerRole.LEAD] or [""],
        observers=[link.partner.code for link in links if link.role == PartnerRole.OBSERVER],
        pillars=[str(pk) for pk in current.pillars.values_list("pk", flat=True)],
        facets=[str(pk) for pk in current.facets.values_list("pk", flat=True)],
        tips=[str(pk) for pk in current.tips.values_list("pk", flat=True)],
        people=[str(pk) for pk in current.people.restrict(user).values_list("pk", flat=True)],
    )
    merged = data.copy()
    for field, pick in chosen.items():
        if pick == THEIRS:
            for name in FORM_FIELDS.get(field, (field,)):
                merged.setlist(name, theirs[name])
    return merged
