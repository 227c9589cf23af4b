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
- the report summaries are brought up to date in the same transaction.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F

from engagements.choices import PartnerRole
from engagements.history import RELATION_FIELDS, TRACKED_FIELDS
from engagements.models import Engagement, StaleVersion
from roadmap import summaries

RELATIONS = tuple(RELATION_FIELDS)  # partners, pillars, facets, tips
# What a caller may set: the tracked fields but the relations. Everything else (id,
# version, creator, timestamps) the service owns.
WRITABLE = tuple(name for name in TRACKED_FIELDS if name not in RELATION_FIELDS)


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
            before = []
        else:
            engagement = _claim(user, engagement_id, version)
            before = [_slice(engagement)]
        _apply(user, engagement, data)
        summaries.refresh_slices([*before, _slice(engagement)])
        return engagement


def delete_engagement(user, engagement_id, version):
    """Delete the engagement at `version`, if the user may see it then and may delete it."""
    with transaction.atomic():
        engagement = _claim(user, engagement_id, version)
        if not engagement.can_be_deleted_by(user):
            raise PermissionDenied("Analysts may delete only the engagements they logged.")
        engagement._history_user = _history_user(user)
        engagement.delete()
        summaries.refresh_slices([_slice(engagement)])
        return engagement


def restore_engagement(user, record):
    """Bring back a deleted engagement from its last history row, under its old id, with
    its creator and `created_at`, the version going on from where it stopped (so copies
    read before the delete stay stale)."""
    from partners.models import Partner
    from roadmap.models import Facet, Pillar, Tip

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
    )
    with transaction.atomic():
        engagement = Engagement(
            pk=record.id,
            created_by_id=record.created_by_id,
            version=record.version + 1,
        )
        _apply(user, engagement, data)
        # auto_now_add stamped the moment of restoring; the engagement was made earlier.
        Engagement.objects.filter(pk=engagement.pk).update(created_at=record.created_at)
        engagement.created_at = record.created_at
        summaries.refresh_slices([_slice(engagement)])
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

    collect(engagement.full_clean, ["created_by"], False)
    collect(Engagement.validate_relations, partners, pillars, facets)
    collect(Engagement.validate_marking, user, engagement.marking)
    leads = [partner for partner in partners if roles.get(partner.pk) == PartnerRole.LEAD]
    if len(leads) > 1:
        errors.setdefault("partners", []).append("Only one partner can lead an engagement.")
    if errors:
        raise ValidationError(errors)


def _claim(user, engagement_id, version):
    """Take the row for this write, or refuse: in one statement, the row must be visible to
    the user and at `version`. The claimed row is locked until the transaction ends, and
    is returned as stored now (its version already one up)."""
    if version is None:
        raise ValidationError({"version": ["Send the version you read."]})
    claimed = (
        Engagement.objects.visible_to(user)
        .filter(pk=engagement_id, version=version)
        .update(version=F("version") + 1)
    )
    if not claimed:
        if Engagement.objects.visible_to(user).filter(pk=engagement_id).exists():
            raise StaleVersion(engagement_id)
        raise NotVisible(engagement_id)
    return Engagement.objects.get(pk=engagement_id)


def _apply(user, engagement, data):
    unknown = set(data) - set(WRITABLE) - set(RELATIONS) - {"partner_roles"}
    if unknown:
        raise TypeError(f"Not writable: {', '.join(sorted(unknown))}")
    adding = engagement._state.adding
    current = {} if adding else _current_relations(engagement)
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
    engagement._history_user = _history_user(user)
    engagement.save()
    if adding or "partners" in data or "partner_roles" in data:
        engagement.set_partners(relations["partners"], roles)
    for name in ("pillars", "facets", "tips"):
        if adding or name in data:
            getattr(engagement, name).set(relations[name])
    engagement.record_relations()
    if plan_before is not None and _plan(engagement, relations["partners"]) != plan_before:
        # The reviews were of another plan: the engagement needs a new one.
        engagement.reviews.current().update(current=False)


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


def _slice(engagement):
    """Where the engagement counts in the report summaries (see roadmap.summaries)."""
    return engagement.start_date, engagement.status, engagement.marking


def _history_user(user):
    return user if user is not None and user.pk else None
