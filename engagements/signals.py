"""What else must follow a change that reports count: the summaries and the report cache.

Engagements are written by one service that keeps the summaries itself; these handlers
cover the records whose changes move engagements between report rows (partners and
memberships) or change what a report shows (tips, tip statuses, pillars, facets).
"""

import threading

from django.db.models.signals import (
    m2m_changed,
    post_delete,
    post_save,
    pre_delete,
    pre_save,
)
from django.dispatch import receiver

from engagements import summaries
from partners.models import Membership, Partner
from roadmap.models import Facet, Pillar, Tip, TipStatusUpdate

# A partner's rows and groups depend on these; a membership's rollups on all of its fields.
PARTNER_FIELDS = ("active", "kind", "region")


@receiver(pre_save, sender=Partner)
@receiver(pre_save, sender=Membership)
def remember_before(sender, instance, **kwargs):
    instance._before = sender.objects.filter(pk=instance.pk).first() if instance.pk else None


@receiver(post_save, sender=Partner)
def partner_saved(sender, instance, created, **kwargs):
    before = getattr(instance, "_before", None)
    if before and any(getattr(before, f) != getattr(instance, f) for f in PARTNER_FIELDS):
        # Its own engagements, and its members' (rolled up into its row and groups).
        members = Membership.objects.filter(organization=instance).values_list(
            "member_id", flat=True
        )
        summaries.regroup(
            [instance.pk, *members],
            partners_before={instance.pk: tuple(getattr(before, f) for f in PARTNER_FIELDS)},
        )
    summaries.bump_stamp()
    summaries.bump_stamp(summaries.DIRECTORY_STAMP)


def _stored(membership):
    return (membership.member_id, membership.organization_id, membership.joined, membership.left)


@receiver(post_save, sender=Membership)
def membership_saved(sender, instance, **kwargs):
    """Only the member's engagements (before and after) roll up differently."""
    before = getattr(instance, "_before", None)
    members = {instance.member_id} | ({before.member_id} if before is not None else set())
    summaries.regroup(
        members,
        membership_before=(instance.pk, _stored(before) if before is not None else None),
    )
    summaries.bump_stamp()


# Memberships being deleted, as stored ({pk: (member, organization, joined, left)}), from
# their pre_delete to their post_delete. A queryset delete (the admin's "delete selected",
# a partner's cascade) sends every pre_delete, deletes them all, then sends each
# post_delete: each step counts the rest of its batch as still there, so the steps add up.
# As stored, not as the instance holds them (an admin inline edited and deleted at once).
_deleting = threading.local()


def _being_deleted():
    if not hasattr(_deleting, "memberships"):
        _deleting.memberships = {}
    return _deleting.memberships


@receiver(pre_delete, sender=Membership)
def membership_deleting(sender, instance, **kwargs):
    stored = Membership.objects.filter(pk=instance.pk).first()
    if stored is not None:
        _being_deleted()[instance.pk] = _stored(stored)


@receiver(post_delete, sender=Membership)
def membership_deleted(sender, instance, **kwargs):
    pending = _being_deleted()
    before = pending.pop(instance.pk, None) or _stored(instance)
    # The rest of its batch, gone from the table, not yet counted as gone (an entry whose
    # delete failed is still in the table: not counted twice).
    still_there = set(Membership.objects.filter(pk__in=list(pending)).values_list("pk", flat=True))
    for pk in still_there:
        del pending[pk]
    summaries.regroup(
        {before[0]}, membership_before=(None, before), memberships_also=list(pending.values())
    )
    summaries.bump_stamp()


@receiver(post_save, sender=TipStatusUpdate)
@receiver(post_delete, sender=TipStatusUpdate)
def report_input_changed(sender, **kwargs):
    summaries.bump_stamp()


@receiver(post_delete, sender=Partner)
@receiver(post_save, sender=Tip)
@receiver(post_delete, sender=Tip)
@receiver(post_save, sender=Pillar)
@receiver(post_delete, sender=Pillar)
@receiver(post_save, sender=Facet)
@receiver(post_delete, sender=Facet)
@receiver(m2m_changed, sender=Tip.pillars.through)
def directory_changed(sender, **kwargs):
    """What reports count, and the names and options pages draw."""
    summaries.bump_stamp()
    summaries.bump_stamp(summaries.DIRECTORY_STAMP)
