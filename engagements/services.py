"""The one way an engagement is written: created, changed, deleted or restored.

The HTML form, the API, the Django admin, `import_engagements` and restore from history
only translate their input into these calls and the errors back into their own format.
So every write obeys the same rules at the same moment:

- visibility and version are checked *in the statement that claims the row*
  (`UPDATE … WHERE id = … AND version = … AND marking IN (writer's markings)`), so a
  marking raised or a save made by someone else after the writer read the engagement
  refuses the write (404 or 409) instead of overwriting it;
- only the fields the caller sent are applied, on top of the row as stored at that moment;
- the model's rules (`full_clean`, relation rules, marking ≤ clearance, one lead partner)
  are checked before anything is stored, and a refusal stores nothing;
- the change history gets one row per write, with the relations as they were saved;
- a change to what an escalation review judged (risk, start date, partners, kind) makes
  the engagement's reviews stale, so it needs a new one;
- the report summaries are moved by what the write changed, in the same transaction.

Records that hang on an engagement (actions, reviews) are written by `save_record` and
`delete_record`, notes by `save_note` and `delete_note`, under the same claim on their
engagement's row: stored only if, at that instant, the engagement is within the writer's
clearance.
"""

import re

import filetype
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.choices import Marking
from accounts.markings import readable
from engagements import summaries
from engagements.choices import PartnerRole
from engagements.fields import RELATION_FIELDS, SCALAR_FIELDS
from engagements.history import deleted_engagements
from engagements.models import Attachment, Engagement, Note, StaleVersion, lead_first
from engagements.snapshots import snapshot
from partners.models import Partner
from people.models import Person
from roadmap.models import Facet, Pillar, Tip

RELATIONS = tuple(RELATION_FIELDS)  # partners, pillars, facets, tips
# What a caller may set: the tracked fields but the relations. Everything else (id,
# version, creator, timestamps) the service owns.
WRITABLE = tuple(SCALAR_FIELDS)


class NotVisible(Engagement.DoesNotExist):
    """The engagement is absent, or marked above the writer's clearance, at the moment of
    the write: to the writer it does not exist (a 404)."""


def save_engagement(user, data, engagement_id=None, version=None):
    """Create an engagement (`engagement_id` None) or change one from `version`.

    `data` holds only what the caller sends: the scalar fields of WRITABLE, and the
    relations as model instances: `partners` (in order), `partner_roles`
    ({partner pk: role}; partners not in it keep their stored role, or participate),
    `pillars`, `facets`, `tips`. Raises ValidationError (nothing stored), StaleVersion or
    NotVisible.
    """
    with transaction.atomic():
        if engagement_id is None:
            engagement = Engagement(created_by=user if user.pk else None)
        else:
            engagement = _claim(user, engagement_id, version)
        summaries.move(*_apply(user, engagement, data))
        return engagement


def delete_engagement(user, engagement_id, version):
    """Delete the engagement at `version`, if the user may see it then and may delete it."""
    with transaction.atomic():
        engagement = _claim(user, engagement_id, version)
        if not engagement.allows(user, "delete"):
            raise PermissionDenied("Analysts may delete only the engagements they logged.")
        counted = _counted(engagement, _current_relations(engagement))
        engagement._history_user = _history_user(user)
        engagement.delete()
        summaries.move(counted, None)
        return engagement


def restore_engagement(user, engagement_id):
    """Bring back a deleted engagement this user may see (`history.deleted_engagements`)
    from its last history row, under its old id, with its creator and `created_at`, the
    version going on from where it stopped (so copies read before the delete stay stale).
    Raises LookupError when there is no such deleted engagement, ValidationError when it
    breaks a rule now."""
    record = deleted_engagements(user).filter(id=engagement_id).first()
    if record is None:
        raise LookupError(engagement_id)
    partners = Partner.objects.in_bulk(record.partner_codes, field_name="code")
    data = {name: getattr(record, name) for name in WRITABLE}
    data.update(
        partners=[partners[code] for code in record.partner_codes if code in partners],
        partner_roles={
            partners[code].pk: role
            for code, role in record.partner_roles.items()
            if code in partners
        },
        pillars=list(Pillar.objects.filter(code__in=record.pillar_codes)),
        facets=list(Facet.objects.filter(code__in=record.facet_codes)),
        tips=list(Tip.objects.filter(number__in=record.tip_numbers)),
        people=list(Person.objects.restrict(user).filter(pk__in=record.person_ids)),
    )
    hidden_people = Person.objects.filter(pk__in=record.person_ids).exclude(
        pk__in=[person.pk for person in data["people"]]
    )
    with transaction.atomic():
        engagement = Engagement(
            pk=record.id,
            created_by_id=record.created_by_id,
            version=record.version + 1,
        )
        summaries.move(*_apply(user, engagement, data))
        if hidden_people.exists():  # back too, though the restorer cannot see them
            engagement.people.add(*hidden_people)
            engagement.record_relations()
        # auto_now_add stamped the moment of restoring; the engagement was made earlier.
        Engagement.objects.filter(pk=engagement.pk).update(created_at=record.created_at)
        engagement.created_at = record.created_at
        return engagement


def validate_engagement(user, engagement, partners, roles, pillars, facets):
    """Every rule an engagement must meet before it is stored, as one ValidationError
    ({field: [messages]}). The form calls this too, to show the errors next to fields."""
    errors = {}

    def collect(check, *args):
        try:
            check(*args)
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                errors.setdefault(field, []).extend(messages)

    # Every constraint of the engagement table is also a field's or clean()'s rule (choices,
    # not blank, end after start), and Django checks each with a query of its own: seven
    # queries a write that could only repeat what the fields said. The database keeps them.
    collect(engagement.full_clean, ["created_by"], False, False)
    collect(Engagement.validate_relations, partners, pillars, facets)
    collect(Engagement.validate_marking, user, engagement.marking)
    leads = [partner for partner in partners if roles.get(partner.pk) == PartnerRole.LEAD]
    if len(leads) > 1:
        errors.setdefault("partners", []).append("Only one partner can lead an engagement.")
    if errors:
        raise ValidationError(errors)


def save_record(user, record):
    """Store `record`, a record that hangs on an engagement (an action, a review), for
    `user`: only if its engagement is within the user's clearance at the instant it is
    stored. Its rules (`full_clean()`, which for an action checks that the owner may see
    the engagement) are checked again under the claim. Raises NotVisible or
    ValidationError; nothing is stored then."""
    with transaction.atomic():
        record.engagement = claim(user, record.engagement_id)
        record.full_clean()
        record._history_user = _history_user(user)
        record.save()
        return record


def delete_record(user, record):
    """Delete `record` (as `save_record`), only if its engagement is still within the
    user's clearance at that instant. Raises NotVisible."""
    with transaction.atomic():
        record.engagement = claim(user, record.engagement_id)
        record._history_user = _history_user(user)
        record.delete()


def claim(user, engagement_id, version=None):
    """Take the engagement's row for a write in the current transaction, or refuse: in one
    statement the row must be visible to the user (and at `version`, when given). The
    claimed row is locked until the transaction ends (on PostgreSQL a concurrent change of
    its marking waits for this write, or this write sees the change), and is returned as
    stored now. A write of the engagement itself gives a version and moves it one up; a
    record that hangs on the engagement gives none and leaves it as it is."""
    rows = Engagement.objects.restrict(user).filter(pk=engagement_id)
    if version is None:
        claimed = rows.update(version=F("version"))
    else:
        claimed = rows.filter(version=version).update(version=F("version") + 1)
    if not claimed:
        if version is not None and rows.exists():
            raise StaleVersion(engagement_id)
        raise NotVisible(engagement_id)
    return Engagement.objects.get(pk=engagement_id)


def _claim(user, engagement_id, version):
    """The claim of a write of the engagement itself: it must carry the version read."""
    if version is None:
        raise ValidationError({"version": ["Send the version you read."]})
    return claim(user, engagement_id, version)


def _apply(user, engagement, data):
    """Write `data` onto `engagement` (claimed, or new) and its relations; returns how the
    report summaries counted it before (None when new) and count it now."""
    unknown = set(data) - set(WRITABLE) - set(RELATIONS) - {"partner_roles", "people"}
    if unknown:
        raise TypeError(f"Not writable: {', '.join(sorted(unknown))}")
    adding = engagement._state.adding
    current = {} if adding else _current_relations(engagement)
    counted_before = None if adding else _counted(engagement, current)
    plan_before = None if adding else _plan(engagement, current["partners"])
    for name in WRITABLE:
        if name in data:
            setattr(engagement, name, data[name])
    relations = {
        name: list(data[name]) if name in data else current.get(name, []) for name in RELATIONS
    }
    roles = {**current.get("partner_roles", {}), **data.get("partner_roles", {})}
    validate_engagement(
        user, engagement, relations["partners"], roles, relations["pillars"], relations["facets"]
    )
    people = _people(user, engagement, data["people"]) if "people" in data else None
    if people is not None:
        person_ids = [person.pk for person in people]
    elif adding:
        person_ids = []
    else:
        person_ids = list(engagement.people.values_list("pk", flat=True))
    relink = adding or "partners" in data or "partner_roles" in data
    stored = lead_first(relations["partners"], roles) if relink else relations["partners"]
    engagement._history_user = _history_user(user)
    # The history row made by save() records the relations as they are about to be stored.
    engagement._relations_snapshot = snapshot(
        stored,
        {partner.pk: roles.get(partner.pk, PartnerRole.PARTICIPANT) for partner in stored},
        relations["pillars"],
        relations["facets"],
        relations["tips"],
        person_ids,
    )
    engagement.save()
    del engagement._relations_snapshot  # spent: a later save reads its own
    if relink:
        engagement.set_partners(relations["partners"], roles, new=adding)
    for name in ("pillars", "facets", "tips"):
        if adding:
            engagement.link_new(name, relations[name])
        elif name in data:
            getattr(engagement, name).set(relations[name])
    if people is not None:
        engagement.people.set(people)
    if plan_before is not None and _plan(engagement, relations["partners"]) != plan_before:
        # The reviews were of another plan: the engagement needs a new one.
        engagement.reviews.current().update(current=False)
    return counted_before, _counted(engagement, relations)


def _people(user, engagement, chosen):
    """Who took part after a write that sends `chosen`: those people (each must be within
    the writer's clearance now), and those already linked that the writer cannot see (a
    writer changes only what it is shown)."""
    chosen = list(chosen)
    visible = Person.objects.restrict(user)
    asked = [person.pk for person in chosen]
    found = set(visible.filter(pk__in=asked).values_list("pk", flat=True))
    unknown = [person for person in chosen if person.pk not in found]
    if unknown:
        raise ValidationError({"people": [f"No person with id {p.pk}." for p in unknown]})
    if engagement._state.adding:
        return chosen
    return chosen + list(engagement.people.exclude(pk__in=visible.values("pk")))


# What an escalation review judges: a change to any of these makes its reviews stale.
PLAN_FIELDS = ("escalation_risk", "start_date", "kind")


def _plan(engagement, partners):
    return (
        *(getattr(engagement, name) for name in PLAN_FIELDS),
        frozenset(partner.pk for partner in partners),
    )


def _current_relations(engagement):
    links = list(engagement.partner_links.select_related("partner").order_by("id"))
    return {
        "partners": [link.partner for link in links],
        "partner_roles": {link.partner_id: link.role for link in links},
        "pillars": list(engagement.pillars.all()),
        "facets": list(engagement.facets.all()),
        "tips": list(engagement.tips.all()),
    }


def _counted(engagement, relations):
    """What the report summaries count of the engagement with these relations (a row of
    `summaries.load()`'s shape; see engagements.summaries)."""
    return (
        engagement.start_date,
        engagement.status,
        engagement.marking,
        *(
            [item.pk for item in relations[name]]
            for name in ("partners", "pillars", "tips", "facets")
        ),
    )


def _history_user(user):
    return user if user is not None and user.pk else None


# `@username` in a note's text (a username as Django allows it: letters, digits, @.+-_;
# a full stop that ends the sentence is not part of it).
MENTION = re.compile(r"(?<![\w@.+-])@([\w.@+-]+)")


def mentioned_users(body):
    """The active users a text mentions by `@username`."""
    names = {name.rstrip(".") for name in MENTION.findall(body)}
    return get_user_model().objects.filter(username__in=names, is_active=True) if names else []


def save_note(user, note, data):
    """Create `note` (unsaved, its engagement or partner set) or change it, with `data`
    ({body, marking}, what the caller sent), for `user`. Stored only if, at that instant,
    the note's engagement is within the user's clearance (claimed as a record that hangs on
    it), the marking within it too, and (a change) the note is the user's to change. Raises
    NotVisible or ValidationError; nothing is stored then. Its mentions are kept."""
    with transaction.atomic():
        if note.pk is None:
            note.author = user if user.pk else None
        elif not Note.objects.restrict(user, "change").filter(pk=note.pk).exists():
            raise NotVisible(note.pk)
        else:
            note.edited_at = timezone.now()
        for name in ("body", "marking"):
            if name in data:
                setattr(note, name, data[name])
        if note.engagement_id is not None:
            note.engagement = claim(user, note.engagement_id)
        errors = {}
        try:
            note.full_clean(exclude=["engagement", "partner", "author"])
        except ValidationError as error:
            errors = error.message_dict
        if not readable(user, note.marking):
            errors.setdefault("marking", []).append(
                f"You cannot mark a note above your clearance ({user.clearance})."
            )
        if errors:
            raise ValidationError(errors)
        note._history_user = _history_user(user)
        note.save()
        note.mentions.set(mentioned_users(note.body))
        return note


def delete_note(user, note):
    """Delete `note` if it is `user`'s to delete now (and its engagement still within the
    user's clearance). Raises NotVisible."""
    with transaction.atomic():
        if note.engagement_id is not None:
            claim(user, note.engagement_id)
        if not Note.objects.restrict(user, "delete").filter(pk=note.pk).exists():
            raise NotVisible(note.pk)
        note._history_user = _history_user(user)
        note.delete()


def sniff_content_type(upload):
    """An upload's type from its first bytes, not from what the client said: a known file
    type's signature, else UTF-8 text, else bytes."""
    head = upload.read(8192)
    upload.seek(0)
    kind = filetype.guess(head)
    if kind is not None:
        return kind.mime
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 3:  # not just a character cut at the 8 KiB mark
            return "application/octet-stream"
    return "text/plain"


def save_attachment(user, engagement_id, upload, title="", marking=Marking.NU):
    """Store `upload` (an UploadedFile) on the engagement for `user`: only if, at that
    instant, the engagement is within the user's clearance (claimed) and so is the
    marking. Raises NotVisible or ValidationError; nothing is stored then (the file written
    for a row that could not be saved is removed again)."""
    if not readable(user, marking):
        raise ValidationError(
            {"marking": [f"You cannot mark a file above your clearance ({user.clearance})."]}
        )
    with transaction.atomic():
        engagement = claim(user, engagement_id)
        attachment = Attachment(
            engagement=engagement,
            title=title,
            filename=_clean_filename(upload.name),
            size=upload.size,
            content_type=sniff_content_type(upload),
            marking=marking,
            uploaded_by=user if user.pk else None,
        )
        attachment.full_clean(exclude=["file", "engagement", "uploaded_by"])
        attachment.file.save(attachment.filename, upload, save=False)
        try:
            attachment.save()
        except Exception:
            attachment.file.storage.delete(attachment.file.name)
            raise
        return attachment


def delete_attachment(user, attachment):
    """Delete `attachment` if it is `user`'s to delete now (its file goes once the
    deletion commits: engagements.signals). Raises NotVisible."""
    with transaction.atomic():
        claim(user, attachment.engagement_id)
        if not Attachment.objects.restrict(user, "delete").filter(pk=attachment.pk).exists():
            raise NotVisible(attachment.pk)
        attachment.delete()


def _clean_filename(name):
    """The uploaded file's own name, without any folder, control character or quote."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable() and c not in '"\\;')
    return name.strip()[:200] or "file"
