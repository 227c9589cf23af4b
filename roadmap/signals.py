"""What else must follow a change that reports count: the summaries and the report cache.

Engagements are written by one service that keeps the summaries itself; these handlers
cover the records whose changes move engagements between report rows (partners and
memberships) or change what a report shows (tips, tip statuses, pillars, facets).
"""

from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.dispatch import receiver

from partners.models import Membership, Partner
from roadmap import summaries
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


@receiver(post_save, sender=Membership)
@receiver(post_delete, sender=Membership)
def membership_changed(sender, instance, **kwargs):
    """Only the member's engagements roll up differently."""
    deleted = "created" not in kwargs  # post_delete sends no `created`
    before = instance if deleted else getattr(instance, "_before", None)
    members = {instance.member_id} | ({before.member_id} if before is not None else set())
    summaries.regroup(
        members,
        membership_before=(
            None if deleted else instance.pk,
            (
                (before.member_id, before.organization_id, before.joined, before.left)
                if before is not None
                else None
            ),
        ),
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
