"""The weekly digest (`manage.py send_digest`, or its job: reports/tasks.py): one email per
active manager and admin with an email address, of what needs attention, each through that
recipient's clearance.

Every number and row comes from `reports/queries.py`, called with the recipient (so the
reports' visibility rule and their cache per clearance apply); nothing is counted here.
"""

import datetime
import smtplib

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db.models import Case, Q, When
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.choices import Marking, Role
from accounts.models import visible_markings
from engagements.models import Action
from reports import queries
from roadmap.choices import TargetStatus

GAP_LIMIT = 25  # the stalest gaps a digest lists; the rest are a link to the gaps report
ACTION_LIMIT = 25  # the overdue actions a digest lists; the rest are a link to /actions/
RISK_DAYS = 30  # unreviewed high-risk plans starting from today to this many days ahead


def recipients():
    """Active managers and admins (superusers count as admins) with an email address."""
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .exclude(email="")
        .filter(Q(is_superuser=True) | Q(groups__name__in=[Role.MANAGER, Role.ADMIN]))
        .distinct()
        .order_by("username")
    )


# What an item of each section shows is marked as: a target's numbers, a gap's last date
# and a plan are marked by the engagements behind them (reports.queries says so with the
# numbers); a tip's flags show no engagement data (a flag is an absence, or a date).
ITEM_MARKING = {
    "targets_behind": lambda row: row["marking"],
    "gaps": lambda gap: gap["marking"],
    "flagged_tips": lambda tip: Marking.NU,
    "unreviewed_risks": lambda risk: risk["marking"],
}


def digest_for(user, as_of=None):
    """The content of `user`'s digest, or None when it has nothing to read.

    Email carries nothing marked above EMAIL_MAX_MARKING (DJANGO_EMAIL_MAX_MARKING, NU by
    default), whatever the recipient's clearance: such items are left out and counted
    (`waiting`), and the message says how many wait in the tracker."""
    as_of = as_of or timezone.localdate()
    ceiling = settings.EMAIL_MAX_MARKING
    sendable = Marking.up_to(ceiling)
    gaps = queries.gaps(user, as_of=as_of)
    sections = {
        "targets_behind": [
            row
            for row in queries.plan(user, as_of=as_of)["targets"]
            if row["status"] == TargetStatus.BEHIND
        ],
        "gaps": gaps["gaps"],
        "flagged_tips": [tip for tip in queries.tip_board(user, as_of=as_of) if tip["flags"]],
        "unreviewed_risks": queries.risks(
            user, as_of, as_of + datetime.timedelta(days=RISK_DAYS), unreviewed=True
        ),
    }
    waiting = 0
    for name, items in sections.items():
        sections[name] = [item for item in items if ITEM_MARKING[name](item) in sendable]
        waiting += len(items) - len(sections[name])
    overdue = overdue_actions(user, as_of)
    listed = list(overdue.filter(engagement__marking__in=sendable)[: ACTION_LIMIT + 1])
    if not set(visible_markings(user)) <= set(sendable):  # some may be marked above it
        waiting += overdue.exclude(engagement__marking__in=sendable).count()
    all_gaps = sections["gaps"]
    sections["gaps"] = all_gaps[:GAP_LIMIT]
    sections["overdue_actions"] = listed[:ACTION_LIMIT]
    if not any(sections.values()) and not waiting:
        return None
    marking = Marking.highest(
        [ITEM_MARKING[name](item) for name in ITEM_MARKING for item in sections[name]]
        + [action.engagement.marking for action in sections["overdue_actions"]]
    )
    return {
        **sections,
        "more_gaps": len(all_gaps) - len(sections["gaps"]),
        "more_actions": len(listed) > ACTION_LIMIT,
        "waiting": waiting,
        "email_ceiling": Marking.banner(ceiling),
        "risk_days": RISK_DAYS,
        "gap_months": gaps["months"],
        "gap_window_start": gaps["window_start"],
        "as_of": as_of,
        "user": user,
        "marking": marking,
        "marking_line": Marking.banner(marking),
        "site_url": settings.SITE_URL,
    }


def overdue_actions(user, as_of):
    """The open actions due before `as_of` that `user` may see (through the one gate),
    the recipient's own first, then by due date. A digest goes to managers and admins, who
    answer for every follow-up they may see, so it lists all of them, not only their own."""
    return (
        Action.objects.restrict(user)
        .overdue(as_of)
        .select_related("engagement", "owner")
        .order_by(Case(When(owner=user, then=0), default=1), "due", "id")
    )


def message_for(user, as_of=None, connection=None):
    """The digest email (plain text with an HTML alternative), or None."""
    context = digest_for(user, as_of)
    if context is None:
        return None
    subject = f"{context['marking_line']} · Engagement tracker digest, {context['as_of']:%Y-%m-%d}"
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("reports/digest_email.txt", context),
        to=[user.email],
        connection=connection,
    )
    message.attach_alternative(render_to_string("reports/digest_email.html", context), "text/html")
    return message


def send_all(dry_run=False, step=None):
    """Send (or with `dry_run`, write out) every recipient's digest: {"sent", "empty",
    "failed": ["user <address>: error"], "previews": [text]} (previews only in a dry run).
    `step(done, total)` after each recipient. Nobody gets two from one call; a failed
    send is reported, not tried again (the others have theirs)."""
    sent, empty, failed, previews = 0, 0, [], []
    connection = None if dry_run else get_connection()
    users = list(recipients())
    for done, user in enumerate(users, start=1):
        message = message_for(user, connection=connection)
        if message is None:
            empty += 1
        elif dry_run:
            previews.append(f"To: {user.email}\nSubject: {message.subject}\n\n{message.body}")
            sent += 1
        else:
            try:
                message.send()
                sent += 1
            except (smtplib.SMTPException, OSError) as error:
                failed.append(f"{user.username} <{user.email}>: {error}")
        if step is not None:
            step(done, len(users))
    return {"sent": sent, "empty": empty, "failed": failed, "previews": previews}
