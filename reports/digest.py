"""The weekly digest (`manage.py send_digest`): one email per active manager and admin
with an email address, of what needs attention, each through that recipient's clearance.

Every number and row comes from `reports/queries.py`, called with the recipient (so the
reports' visibility rule and their cache per clearance apply); nothing is counted here.
"""

import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db.models import Case, Q, When
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.choices import Marking, Role
from accounts.models import highest_marking
from engagements.choices import EngagementStatus
from engagements.models import Action, Engagement
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


def digest_for(user, as_of=None):
    """The content of `user`'s digest, or None when it has nothing to read."""
    as_of = as_of or timezone.localdate()
    gaps = queries.gaps(user, as_of=as_of)
    overdue = list(overdue_actions(user, as_of)[: ACTION_LIMIT + 1])
    sections = {
        "targets_behind": [
            row
            for row in queries.plan(user, as_of=as_of)["targets"]
            if row["status"] == TargetStatus.BEHIND
        ],
        "gaps": gaps["gaps"][:GAP_LIMIT],
        "overdue_actions": overdue[:ACTION_LIMIT],
        "flagged_tips": [tip for tip in queries.tip_board(user, as_of=as_of) if tip["flags"]],
        "unreviewed_risks": queries.risks(
            user, as_of, as_of + datetime.timedelta(days=RISK_DAYS), unreviewed=True
        ),
    }
    if not any(sections.values()):
        return None
    marking = highest_marking(drawn_on(user, sections, as_of))
    return {
        **sections,
        "more_gaps": len(gaps["gaps"]) - len(sections["gaps"]),
        "more_actions": len(overdue) > ACTION_LIMIT,
        "risk_days": RISK_DAYS,
        "gap_months": gaps["months"],
        "gap_window_start": gaps["window_start"],
        "as_of": as_of,
        "user": user,
        "marking": marking,
        "marking_line": Marking(marking).label.upper(),
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


def plan_drawn_on(rows, as_of):
    """What rows of `queries.plan(..., as_of=as_of)` draw on, as a condition on
    engagements: for each target, the completed engagements with its partner and pillar
    counted in its window or setting its `last` date, and the planned ones counted.
    (Also the partner brief's, for its targets.)"""
    condition = Q(pk__in=[])
    for row in rows:
        counted = Q(status=EngagementStatus.COMPLETED, start_date__range=(row["since"], as_of)) | Q(
            status=EngagementStatus.PLANNED, start_date__gt=as_of, start_date__lte=row["until"]
        )
        if row["last"]:
            counted |= Q(status=EngagementStatus.COMPLETED, start_date=row["last"])
        condition |= counted & Q(
            partner_links__partner__code=row["partner"], pillars__code=row["pillar"]
        )
    return condition


def drawn_on(user, sections, as_of):
    """The visible engagements the digest's content draws on, for its marking: those that
    set a listed gap's last date, those the targets behind count or date, those of the
    overdue actions and the unreviewed plans listed. (Tip flags show no engagement data:
    a flag says that no visible engagement backs a status, or that a status is old.)"""
    condition = plan_drawn_on(sections["targets_behind"], as_of)
    condition |= Q(
        pk__in=[action.engagement_id for action in sections["overdue_actions"]]
        + [risk["engagement"] for risk in sections["unreviewed_risks"]]
    )
    for gap in sections["gaps"]:
        if gap["last"]:
            condition |= Q(
                status=EngagementStatus.COMPLETED,
                start_date=gap["last"],
                partner_links__partner__code=gap["partner"],
                pillars__code=gap["pillar"],
            )
    return Engagement.objects.restrict(user).filter(condition)


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
