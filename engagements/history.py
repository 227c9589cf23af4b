"""Change history of engagements: who changed what, from what to what.

django-simple-history keeps a row per save and delete. Its rows cannot see the
many-to-many relations (they are written after the engagement's own row), so each
historical row also keeps a snapshot of the relations as codes: filled from the database
when the row is made, and brought up to date by `Engagement.record_relations()` once a
write path has set the relations. A deleted engagement's last row keeps the snapshot of
the row before, so it can be restored whole.
"""

from django.db import models
from django.dispatch import receiver
from simple_history.signals import pre_create_historical_record

TRACKED_FIELDS = [
    "title",
    "kind",
    "status",
    "start_date",
    "end_date",
    "location",
    "partners",
    "pillars",
    "facets",
    "tips",
    "marking",
    "escalation_risk",
    "summary",
    "outcomes",
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
    pillar_codes = models.JSONField(default=list)
    facet_codes = models.JSONField(default=list)
    tip_numbers = models.JSONField(default=list)

    class Meta:
        abstract = True


def relation_snapshot(engagement):
    return {
        "partner_codes": [
            link.partner.code
            for link in engagement.partner_links.select_related("partner").order_by("id")
        ],
        "pillar_codes": sorted(engagement.pillars.values_list("code", flat=True)),
        "facet_codes": sorted(engagement.facets.values_list("code", flat=True)),
        "tip_numbers": sorted(engagement.tips.values_list("number", flat=True)),
    }


@receiver(pre_create_historical_record)
def snapshot_relations(sender, instance, history_instance, **kwargs):
    if sender._meta.label != "engagements.HistoricalEngagement":
        return
    if history_instance.history_type == "-":
        previous = (
            sender.objects.filter(id=instance.pk).order_by("-history_date", "-history_id").first()
        )
        names = RELATION_FIELDS.values()
        values = {name: getattr(previous, name) for name in names} if previous else {}
    else:
        values = relation_snapshot(instance)
    for name, value in values.items():
        setattr(history_instance, name, value)


def _value(record, field):
    if field in RELATION_FIELDS:
        return list(getattr(record, RELATION_FIELDS[field]))
    value = getattr(record, field)
    return value.isoformat() if hasattr(value, "isoformat") else value


def engagement_history(engagement_id):
    """Every change, newest first: [{at, by, action, changes: {field: [old, new]}}]."""
    from engagements.models import Engagement

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
        if action != "deleted":
            for field in TRACKED_FIELDS:
                new = _value(record, field)
                old = _value(previous, field) if action == "changed" and previous else None
                if action == "created" and new in (None, "", []):
                    continue
                if old != new:
                    changes[field] = [old, new]
        entries.append(
            {
                "at": record.history_date,
                "by": record.history_user.username if record.history_user else None,
                "action": action,
                "changes": changes,
            }
        )
        previous = record
    entries.reverse()
    return entries
