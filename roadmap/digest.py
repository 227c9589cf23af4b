"""The weekly digest (`manage.py send_digest`): one email per active manager and admin
with an email address, of what needs attention, each through that recipient's clearance.

Every number and row comes from `roadmap/reports.py`, called with the recipient (so the
reports' visibility rule and their cache per clearance apply); nothing is counted here.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.choices import Marking, Role
from accounts.models import highest_marking
from engagements.choices import EngagementStatus
from engagements.models import Engagement
from roadmap import reports

GAP_LIMIT = 25  # the stalest gaps a digest lists; the rest are a link to the gaps report


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
    gaps = reports.gaps(user, as_of=as_of)
    sections = {
        # Issue 13: "targets_behind": reports.plan(user, as_of=as_of), status "behind".
        "gaps": gaps["gaps"][:GAP_LIMIT],
        # Issue 13: "overdue_actions": the visible open actions due before as_of.
        "flagged_tips": [tip for tip in reports.tip_board(user, as_of=as_of) if tip["flags"]],
        # Issue 13: "unreviewed_risks": reports.risks(user) with no review, starting in
        # the next 30 days.
    }
    if not any(sections.values()):
        return None
    marking = highest_marking(drawn_on(user, sections))
    return {
        **sections,
        "more_gaps": len(gaps["gaps"]) - len(sections["gaps"]),
        "gap_months": gaps["months"],
        "gap_window_start": gaps["window_start"],
        "as_of": as_of,
        "user": user,
        "marking": marking,
        "marking_line": Marking(marking).label.upper(),
        "site_url": settings.SITE_URL,
    }


def drawn_on(user, sections):
    """The visible engagements the digest's content draws on, for its marking: those that
    set a listed gap's last date. (Tip flags show no engagement data: a flag says that
    no visible engagement backs a status, or that a status is old.)"""
    condition = Q(pk__in=[])
    for gap in sections["gaps"]:
        if gap["last"]:
            condition |= Q(
                status=EngagementStatus.COMPLETED,
                start_date=gap["last"],
                partner_links__partner__code=gap["partner"],
                pillars__code=gap["pillar"],
            )
    # Issue 13: and the engagements behind the targets, actions and reviews listed.
    return Engagement.objects.visible_to(user).filter(condition)


def message_for(user, as_of=None, connection=None):
    """The digest email (plain text with an HTML alternative), or None."""
    context = digest_for(user, as_of)
    if context is None:
        return None
    subject = f"{context['marking_line']} · Engagement tracker digest, {context['as_of']:%Y-%m-%d}"
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("roadmap/digest_email.txt", context),
        to=[user.email],
        connection=connection,
    )
    message.attach_alternative(render_to_string("roadmap/digest_email.html", context), "text/html")
    return message
