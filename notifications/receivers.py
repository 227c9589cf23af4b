"""Where notifications come from: the writes themselves, whichever door they came through
(the pages, the API, the admin, an import, a restore). Every write of an engagement, an
action and a partner leaves a history row (django-simple-history) naming its writer; a
note's mentions are set by the write service. These receivers turn those into
notifications, in the write's own transaction (a refused write notifies nobody).

- an engagement logged: its creator watches it; a high-risk plan: `review_needed` for the
  managers who may see it;
- an engagement changed by someone: `watched_changed` for those who watch it, and
  `review_needed` again when the change makes it a high-risk plan or changes its plan;
- an action given an owner (new, or another one) by someone else: `action_assigned`, and
  the owner watches its engagement;
- a partner changed by someone: `watched_changed` for those who watch it;
- a note that mentions someone (newly): `mentioned`, and they watch its engagement.
"""

import datetime

from django.db.models.signals import m2m_changed
from django.dispatch import receiver
from simple_history.signals import post_create_historical_record

from accounts.choices import Role
from accounts.models import users_who_may_see
from engagements.models import Note
from engagements.services import PLAN_FIELDS
from notifications.choices import NotificationKind
from notifications.services import notify, watch, watchers, who_may_see


@receiver(post_create_historical_record)
def on_write(sender, instance, history_instance, **kwargs):
    handler = HANDLERS.get(instance._meta.label)
    if handler is not None:
        handler(instance, history_instance, getattr(history_instance, "history_user", None))


def _previous(row):
    return (
        type(row)
        .objects.filter(id=row.id, history_id__lt=row.history_id)
        .order_by("-history_id")
        .first()
    )


def _day(value):
    """A date as a message gives it; a model saved with a date as text holds the text."""
    if not isinstance(value, datetime.date):
        value = datetime.date.fromisoformat(str(value))
    return f"{value:%d %b %Y}"


def _by(writer):
    return writer.username if writer is not None else "The system"


def engagement_written(engagement, row, writer):
    if row.history_type == "-":
        return
    previous = _previous(row) if row.history_type == "~" else None
    if row.history_type == "+" and writer is not None:
        watch(writer, engagement=engagement)
    if previous is not None:
        others = who_may_see(watchers(engagement=engagement, besides=writer), engagement)
        notify(
            others,
            NotificationKind.WATCHED_CHANGED,
            f"{_by(writer)} changed “{engagement.title}”.",
            engagement=engagement,
        )
    if engagement.is_high_risk_plan and _plan_is_new(row, previous):
        managers = users_who_may_see(engagement.marking).filter(groups__name=Role.MANAGER)
        if writer is not None:
            managers = managers.exclude(pk=writer.pk)
        notify(
            managers,
            NotificationKind.REVIEW_NEEDED,
            f"“{engagement.title}” is a high-risk plan that needs a review "
            f"(starts {_day(engagement.start_date)}).",
            engagement=engagement,
        )


def _plan_is_new(row, previous):
    """Whether the plan a review judges is new at this row: logged, made a high-risk plan,
    or with another risk, start, kind or partners than before."""
    if previous is None:
        return True
    was_plan = previous.status == "planned" and previous.escalation_risk == "high"
    same = all(getattr(row, name) == getattr(previous, name) for name in PLAN_FIELDS)
    return not was_plan or not same or set(row.partner_codes) != set(previous.partner_codes)


def action_written(action, row, writer):
    if row.history_type == "-" or action.owner_id is None:
        return
    previous = _previous(row) if row.history_type == "~" else None
    if previous is not None and previous.owner_id == action.owner_id:
        return
    watch(action.owner, engagement=action.engagement)
    if writer is None or writer.pk != action.owner_id:
        notify(
            [action.owner],
            NotificationKind.ACTION_ASSIGNED,
            f"{_by(writer)} made you owner of “{action.title}” on “{action.engagement.title}”, "
            f"due {_day(action.due)}.",
            engagement=action.engagement,
            action=action,
        )


def partner_written(partner, row, writer):
    if row.history_type != "~":
        return
    notify(
        watchers(partner=partner, besides=writer),
        NotificationKind.WATCHED_CHANGED,
        f"{_by(writer)} changed the partner {partner.name}.",
        partner=partner,
    )


HANDLERS = {
    "engagements.Engagement": engagement_written,
    "engagements.Action": action_written,
    "partners.Partner": partner_written,
}


@receiver(m2m_changed, sender=Note.mentions.through)
def on_mention(sender, instance, action, reverse, pk_set, **kwargs):
    if action != "post_add" or reverse or not pk_set:
        return
    note = instance
    # Who wrote the text that names them: this edit's writer (the write service's), who
    # may not be the note's author.
    writer = getattr(note, "_history_user", None) or note.author
    mentioned = [
        user
        for user in note.mentions.filter(pk__in=pk_set).exclude(pk=getattr(writer, "pk", None))
        if Note.objects.restrict(user).filter(pk=note.pk).exists()
    ]
    if note.engagement_id is not None:
        for user in mentioned:
            watch(user, engagement=note.engagement)
    on = f"“{note.engagement.title}”" if note.engagement_id else f"the partner {note.partner.name}"
    notify(
        mentioned,
        NotificationKind.MENTIONED,
        f"{_by(writer)} mentioned you in a note on {on}.",
        note=note,
        engagement=note.engagement,
        partner=note.partner,
    )
