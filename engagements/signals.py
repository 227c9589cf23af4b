"""What else must follow a change that reports count: the summaries and the report cache.

A partner or membership change that can move report numbers queues a background job
(`_regroup`); the change itself commits at once.

Engagements are written by one service that keeps the summaries itself; these handlers
cover the records whose changes move engagements between report rows (partners and
memberships) or change what a report shows (tips, tip statuses, pillars, facets).
"""

from django.db import transaction
from django.db.models.signals import (
    m2m_changed,
    post_delete,
    post_save,
    pre_delete,
    pre_save,
)
from django.dispatch import receiver

from engagements import summaries, tasks
from engagements.models import Attachment, EngagementPartner
from jobs.choices import JobKind
from jobs.services import start
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
    instance._job = None
    if before and any(getattr(before, f) != getattr(instance, f) for f in PARTNER_FIELDS):
        # Its own engagements, and its members' (rolled up into its row and groups).
        members = Membership.objects.filter(organization=instance).values_list(
            "member_id", flat=True
        )
        instance._job = _regroup(
            lambda: str(instance),
            [instance.pk, *members],
            partners_before={instance.pk: tuple(getattr(before, f) for f in PARTNER_FIELDS)},
        )
    summaries.bump_stamp()
    summaries.bump_stamp(summaries.DIRECTORY_STAMP)


def _regroup(subject, partner_ids, partners_before=None, memberships=()):
    """Queue the job that applies the change to the report summaries (engagements.tasks),
    if it can move any: reports say it is being applied until it is done. `subject()`
    names the change for them. The job, or None."""
    if not EngagementPartner.objects.filter(partner_id__in=partner_ids).exists():
        return None
    scope = summaries.scope(partners_before, memberships)
    if not scope["kinds"]:
        return None
    return start(
        JobKind.REGROUP, tasks.regroup, subject=subject(), partner_ids=sorted(partner_ids), **scope
    )


def _stored(membership):
    return (membership.member_id, membership.organization_id, membership.joined, membership.left)


def _subject(membership):
    return f"{membership.member} in {membership.organization}"


@receiver(post_save, sender=Membership)
def membership_saved(sender, instance, **kwargs):
    """Only the member's engagements (before and after) roll up differently."""
    before = getattr(instance, "_before", None)
    instance._job = None
    if before is None or _stored(before) != _stored(instance):
        stored = [_stored(instance), *([_stored(before)] if before is not None else [])]
        instance._job = _regroup(
            lambda: _subject(instance), {member for member, *_ in stored}, memberships=stored
        )
    summaries.bump_stamp()


@receiver(pre_delete, sender=Membership)
def membership_deleting(sender, instance, **kwargs):
    """As stored, not as the instance holds it (an admin inline edited and deleted at once);
    a queryset delete sends this and post_delete with the same instances."""
    instance._stored = Membership.objects.filter(pk=instance.pk).first()


@receiver(post_delete, sender=Membership)
def membership_deleted(sender, instance, **kwargs):
    stored = getattr(instance, "_stored", None) or instance
    instance._job = _regroup(
        lambda: _subject(stored), {stored.member_id}, memberships=[_stored(stored)]
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


@receiver(post_delete, sender=Attachment, dispatch_uid="engagements.attachment_file")
def remove_attachment_file(sender, instance, **kwargs):
    """A file goes with its attachment (deleted alone or with its engagement), once the
    deletion is committed: a deletion rolled back keeps its file."""
    storage, name = instance.file.storage, instance.file.name
    if name:
        transaction.on_commit(lambda: storage.delete(name))
