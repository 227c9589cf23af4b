from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts import audit
from accounts.choices import Marking
from accounts.markings import highest_of, shown, shown_note
from core.pagination import paginate
from engagements.choices import ActionStatus, EngagementStatus
from engagements.forms import NoteForm
from engagements.models import Action, Engagement, Note
from engagements.tables import table_rows
from engagements.timeline import timeline
from engagements.views import action_rows, note_panel, note_refused
from partners.filters import PartnerFilterSet
from partners.models import Membership, Partner
from people.models import Person
from reports import queries
from roadmap.models import Pillar
from roadmap.views import target_form


def partner_list(request):
    data = request.GET.copy()
    data.setdefault("active", "true")  # the directory opens on the partners in use
    filterset = PartnerFilterSet(data, queryset=Partner.objects.order_by("name"))
    partners = filterset.qs if filterset.is_valid() else Partner.objects.none()
    page = Paginator(partners, 100).get_page(request.GET.get("page"))
    return render(request, "partners/partner_list.html", {"filterset": filterset, "page": page})


PEOPLE_SHOWN = 50  # on the profile; the people list has them all


def coverage_cells(coverage):
    """(pillar, cell) for the one row of `queries.coverage(..., partner_code=...)`."""
    pillars = {pillar.code: pillar for pillar in Pillar.objects.order_by("order")}
    return [(pillars[code], cell) for code, cell in coverage["rows"][0]["cells"].items()]


def partner_detail(request, code):
    partner = get_object_or_404(Partner, code=code)
    new_target, saved = target_form(request, partner=partner)
    if saved:
        return redirect(partner)
    logged = Engagement.objects.restrict(request.user).filter(partner_links__partner=partner)
    try:
        page = paginate(logged, ["-start_date", "-id"], 25, request.GET.get("cursor"))
    except ValidationError:
        page = paginate(logged, ["-start_date", "-id"], 25)
    coverage = queries.coverage(request.user, partner_code=partner.code)
    plan = queries.plan(request.user, partner_code=partner.code)
    notes, notes_marking = shown_note(request.user, partner.notes, partner.notes_marking)
    journal = note_panel(request, {"partner": partner})
    people = list(Person.objects.restrict(request.user).filter(partner=partner)[:PEOPLE_SHOWN])
    try:
        events, older = timeline(request.user, partner, request.GET.get("timeline"))
    except ValidationError as error:
        messages.error(request, error.messages[0])
        events, older = timeline(request.user, partner)
    shown(
        request,
        coverage["marking"],
        plan["marking"],
        *(engagement.marking for engagement in page),
        notes_marking,
        *(event.marking for event in events),
        *(person.marking for person in people),
    )
    return render(
        request,
        "partners/partner_detail.html",
        {
            "partner": partner,
            "notes_shown": notes is not None,
            "memberships": Membership.objects.filter(member=partner).select_related("organization"),
            "members": Membership.objects.filter(organization=partner).select_related("member"),
            "people": people,
            "page": page,
            "rows": table_rows(page),
            "coverage": coverage,
            "plan": plan,
            "target_form": new_target,
            "coverage_cells": coverage_cells(coverage),
            **journal,
            "events": events,
            "older_events": older,
            "note_action": reverse("partners:add-note", args=[partner.code]),
        },
    )


@require_POST
@permission_required("engagements.add_note", raise_exception=True)
def partner_note_create(request, code):
    """A note on the partner (the engagement's own form, engagements.views); a refusal is
    said in a message above the notes."""
    partner = get_object_or_404(Partner, code=code)
    form = NoteForm(request.POST, user=request.user)
    refused = note_refused(request, Note(partner=partner), form) if form.is_valid() else form
    if refused:
        problems = [message for messages_ in refused.errors.values() for message in messages_]
        messages.error(request, "The note was not added: " + " ".join(problems))
    else:
        messages.success(request, "Note added.")
    return redirect(partner.get_absolute_url() + "#notes")


BRIEF_UPCOMING = 25  # the next planned engagements a brief lists
BRIEF_LATEST = 10  # the latest completed engagements, with their outcomes


def partner_brief(request, code):
    """A printable brief for meeting preparation (A4, static/css/print.css). Its numbers
    are the reports' (coverage for this partner, gaps, plan, risks), never counted here;
    open actions come through the one gate (`Action.objects.restrict`); it is marked
    with the highest marking of what it draws on, at the top and bottom of every page,
    and recorded in the audit trail as an export."""
    partner = get_object_or_404(Partner, code=code)
    user, today = request.user, timezone.localdate()
    visible = Engagement.objects.restrict(user).filter(partner_links__partner=partner)
    coverage = queries.coverage(user, partner_code=partner.code)
    gaps = queries.gaps(user)
    partner_gaps = [gap for gap in gaps["gaps"] if gap["partner"] == partner.code]
    upcoming = table_rows(
        visible.filter(status=EngagementStatus.PLANNED, start_date__gte=today).order_by(
            "start_date", "id"
        )[:BRIEF_UPCOMING]
    )
    latest = table_rows(
        visible.filter(status=EngagementStatus.COMPLETED).order_by("-start_date", "-id")[
            :BRIEF_LATEST
        ]
    )
    plan = queries.plan(user, as_of=today, partner_code=partner.code)
    actions = list(
        Action.objects.restrict(user)
        .filter(status=ActionStatus.OPEN, engagement__partner_links__partner=partner)
        .select_related("engagement", "owner")
        .order_by("due", "id")
    )
    risks = [risk for risk in queries.risks(user) if partner.code in risk["partners"]]

    # What the numbers and lists above draw on, as the reports say it with their numbers
    # (the engagements counted in the coverage period, those that set a gap's last date,
    # those the targets count or date, the targets' notes), and the engagements listed
    # (with those of the open actions and the high-risk plans).
    marking = Marking.highest(
        [
            coverage["marking"],
            highest_of(partner_gaps),
            plan["marking"],
            highest_of(risks),
            *(row.marking for row in upcoming + latest),
            *(action.engagement.marking for action in actions),
        ]
    )
    shown(request, marking)
    # A brief is printed and carried away: recorded as an export, with what it lists.
    listed = {row.pk for row in upcoming + latest} | {a.engagement_id for a in actions}
    listed |= {risk["engagement"] for risk in risks}
    audit.download(request, "partner_brief", marking, len(listed), "html", {"partner": code})
    return render(
        request,
        "partners/partner_brief.html",
        {
            "partner": partner,
            "today": today,
            "marking": marking,
            "marking_line": Marking.banner(marking),
            "memberships": Membership.objects.filter(member=partner).select_related("organization"),
            "members": Membership.objects.filter(organization=partner).select_related("member"),
            "coverage": coverage,
            "coverage_cells": coverage_cells(coverage),
            "gaps": gaps,
            "partner_gaps": partner_gaps,
            "upcoming": upcoming,
            "upcoming_limit": BRIEF_UPCOMING,
            "latest": latest,
            "plan": plan,
            "actions": action_rows(actions, user, today),
            "risks": risks,
        },
    )
