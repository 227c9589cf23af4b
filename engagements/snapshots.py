"""What each history row of an engagement keeps of its relations.

django-simple-history keeps a row per save and delete. Its rows cannot see the
many-to-many relations (they are written after the engagement's own row), so each
historical row also keeps a snapshot of the relations as codes. The write service knows
the relations it is about to store and hands them to the row (`_relations_snapshot`);
any other save reads them from the database when the row is made, and
`Engagement.record_relations()` brings the newest row up to date after relations set by
hand. A deleted engagement's last row keeps the snapshot of the row before, so it can be
restored whole. (Kept apart from engagements/history.py, which reads the rows: the model
is built on this.)
"""

from django.db import models
from django.dispatch import receiver
from simple_history.signals import pre_create_historical_record

from engagements.fields import NAMES, RELATION_FIELDS

# What a change can touch: every field a writer sets.
TRACKED_FIELDS = NAMES


class RelationSnapshot(models.Model):
    """Fields added to HistoricalEngagement: the relations at that point, as codes."""

    partner_codes = models.JSONField(default=list)
    partner_roles = models.JSONField(default=dict)  # {code: role}, to restore faithfully
    pillar_codes = models.JSONField(default=list)
    facet_codes = models.JSONField(default=list)
    tip_numbers = models.JSONField(default=list)
    # Who took part, by id (people carry markings of their own: engagements/history.py
    # shows each reader only those it may see).
    person_ids = models.JSONField(default=list)

    class Meta:
        abstract = True


SNAPSHOT_FIELDS = [*RELATION_FIELDS.values(), "partner_roles", "person_ids"]


def snapshot(partners, roles, pillars, facets, tips, person_ids=()):
    """The relations as a history row keeps them: `partners` in their stored order (the
    lead first) with `roles` ({partner pk: role}), the others' codes (and the people's
    ids) sorted."""
    return {
        "partner_codes": [partner.code for partner in partners],
        "partner_roles": {partner.code: roles[partner.pk] for partner in partners},
        "pillar_codes": sorted(pillar.code for pillar in pillars),
        "facet_codes": sorted(facet.code for facet in facets),
        "tip_numbers": sorted(tip.number for tip in tips),
        "person_ids": sorted(person_ids),
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
        engagement.people.values_list("pk", flat=True),
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
