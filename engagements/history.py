"""Change history of engagements: who changed what, from what to what.

django-simple-history keeps a row per save and delete. Its rows cannot see the
many-to-many relations (they are written after the engagement's own row), so each
historical row also keeps a snapshot of the relations as codes. The write service knows
the relations it is about to store and hands them to the row (`_relations_snapshot`);
any other save reads them from the database when the row is made, and
`Engagement.record_relations()` brings the newest row up to date after relations set by
hand. A deleted engagement's last row keeps the snapshot of the row before, so it can be
restored whole.
"""

from django.db import models
from django.db.models import OuterRef, Subquery
from django.dispatch import receiver
from django.utils.text import capfirst
from simple_history.signals import pre_create_historical_record

from accounts.models import visible_markings
from engagements.choices import API_FIELDS

# What a change can touch: the contract's fields but those every save sets by itself.
TRACKED_FIELDS = [
    name
    for name in API_FIELDS
    if name not in ("id", "created_by", "created_at", "updated_at", "version")
]
RELATION_FIELDS = {
    "partners": "partner_codes",
    "pillars": "pillar_codes",
    "facets": "facet_codes",
    "tips": "tip_numbers",
}
ACTIONS = {"+": "created", "~": "changed", "-": "deleted"}


class RelationSnapshot(models.Model):
    """Fields added to HistoricalEngagement: the relations at that point, as codes."""

    partner_codes = models.JSONField(default=list)
    partner_roles = models.JSONField(default=dict)  # {code: role}, to restore faithfully
    pillar_codes = models.JSONField(default=list)
    facet_codes = models.JSONField(default=list)
    tip_numbers = models.JSONField(default=list)

    class Meta:
        abstract = True


SNAPSHOT_FIELDS = ["partner_codes", "partner_roles", "pillar_codes", "facet_codes", "tip_numbers"]


def snapshot(partners, roles, pillars, facets, tips):
    """The relations as a history row keeps them: `partners` in their stored order (the
    lead first) with `roles` ({partner pk: role}), the others' codes sorted."""
    return {
        "partner_codes": [partner.code for partner in partners],
        "partner_roles": {partner.code: roles[partner.pk] for partner in partners},
        "pillar_codes": sorted(pillar.code for pillar in pillars),
        "facet_codes": sorted(facet.code for facet in facets),
        "tip_numbers": sorted(tip.number for tip in tips),
    }


def relation_snapshot(engagement):
    """The snapshot of the relations as the database holds them now."""
    links = list(engagement.partner_links.select_related("partner").order_by("id"))
    return snapshot(
        [link.partner for link in links],
        {link.partner_id: link.role for link in links},
        engagement.pillars.only("code"),
        engagement.facets.only("code"),
        engagement.tips.only("number"),
    )


@receiver(pre_create_historical_record)
def snapshot_relations(sender, instance, history_instance, **kwargs):
    if sender._meta.label != "engagements.HistoricalEngagement":
        return
    if history_instance.history_type == "-":
        previous = (
            sender.objects.filter(id=instance.pk).order_by("-history_date", "-history_id").first()
        )
        values = {name: getattr(previous, name) for name in SNAPSHOT_FIELDS} if previous else {}
    else:
        values = getattr(instance, "_relations_snapshot", None) or relation_snapshot(instance)
    for name, value in values.items():
        setattr(history_instance, name, value)


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
    from engagements.models import Engagement

    allowed = set(visible_markings(user))
    records = list(
        Engagement.history.filter(id=engagement_id)
        .select_related("history_user")
        .order_by("history_date", "history_id")
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
                if record.marking not in allowed:
                    new, redacted = None, True
                if old is not None and previous.marking not in allowed:
                    old, redacted = None, True
                changes[field] = [old, new]
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


def deleted_engagements(user):
    """The last history row of each deleted engagement, if this user may see it, newest
    first. Only the last deletion counts: an engagement deleted at NU, restored, raised to
    NS and deleted again is an NS engagement's deletion, for NS readers only."""
    from engagements.models import Engagement

    last = (
        Engagement.history.filter(id=OuterRef("id"), history_type="-")
        .order_by("-history_date", "-history_id")
        .values("history_id")[:1]
    )
    return (
        Engagement.history.filter(history_type="-", marking__in=visible_markings(user))
        .filter(history_id=Subquery(last))
        .exclude(id__in=Engagement.objects.values("id"))
        .select_related("history_user")
        .order_by("-history_date")
    )


def restore_engagement(engagement_id, user):
    """Bring a deleted engagement this user may see back, as it was when deleted, through
    the one write service (see `engagements.services.restore_engagement`)."""
    from engagements import services

    record = deleted_engagements(user).filter(id=engagement_id).first()
    if record is None:
        raise LookupError(engagement_id)
    return services.restore_engagement(user, record)


# Reading the history (and the edit-conflict screen): the API keeps field names and codes
# (the contract); pages show labels and names. Display only: redaction happens before.


def field_label(field):
    """ "Escalation risk" for `escalation_risk`: the model field's verbose name."""
    from engagements.models import Engagement

    return capfirst(Engagement._meta.get_field(field).verbose_name)


class Names:
    """Names for the codes a history value holds: one query per kind of code, read once."""

    def __init__(self):
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

    def value(self, field, value):
        """A stored value as a person reads it: a choice's label, a code's name (None, a
        redacted value, stays None)."""
        from engagements.models import Engagement

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
    names = Names() if entries else None
    for entry in entries:
        entry["readable"] = [
            (field_label(field), [names.value(field, old), names.value(field, new)])
            for field, (old, new) in entry["changes"].items()
        ]
    return entries
