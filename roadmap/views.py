from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render

from accounts.markings import highest_of, shown, shown_note
from engagements.choices import EngagementStatus
from engagements.models import Engagement
from engagements.tables import table_rows
from reports import queries
from roadmap.forms import (
    TargetEditForm,
    TargetForm,
    TipStatusForm,
)
from roadmap.models import Challenge, Pillar, Target, Tip


def roadmap(request):
    counts = queries.roadmap_counts(request.user)
    pillars = Pillar.objects.order_by("order").prefetch_related("facets")
    tip_board = queries.tip_board(request.user)
    shown(request, counts["marking"], highest_of(tip_board))
    return render(
        request,
        "roadmap/roadmap.html",
        {
            "pillars": [
                (
                    pillar,
                    counts["pillars"].get(pillar.code, 0),
                    [(facet, counts["facets"].get(facet.code, 0)) for facet in pillar.facets.all()],
                )
                for pillar in pillars
            ],
            "counts": counts,
            "tip_board": tip_board,
            "challenges": Challenge.objects.order_by("order"),
        },
    )


ADVANCING_SHOWN = 50


def tip_detail(request, number):
    tip = get_object_or_404(Tip.objects.prefetch_related("pillars"), number=number)
    may_update = request.user.has_perm("roadmap.add_tipstatusupdate")
    form = TipStatusForm(request.POST or None, user=request.user)
    if request.method == "POST":
        if not may_update:
            raise PermissionDenied("Only managers and admins set a tip's status.")
        if form.is_valid():
            update = form.save(commit=False)
            update.tip, update.created_by = tip, request.user
            update.save()
            messages.success(
                request, f"Status of tip {tip.number} set to {update.get_status_display()}."
            )
            return redirect(tip)
    board = next(row for row in queries.tip_board(request.user) if row["number"] == number)
    # The rows behind the board's number: completed, in its 12 months, newest first.
    advancing = table_rows(
        Engagement.objects.restrict(request.user)
        .filter(
            tips=tip,
            status=EngagementStatus.COMPLETED,
            start_date__range=(board["start_12_months"], board["as_of"]),
        )
        .order_by("-start_date", "-id")[:ADVANCING_SHOWN]
    )
    # Each status's note within the reader's clearance; the others say they are withheld.
    history = list(tip.status_updates.select_related("created_by").order_by("-created_at", "-id"))
    notes = [shown_note(request.user, update.note, update.note_marking) for update in history]
    for update, (text, _) in zip(history, notes, strict=True):
        update.note_shown = text is not None
    shown(
        request,
        highest_of([board]),
        *(row.marking for row in advancing),
        *(marking for _, marking in notes),
    )
    return render(
        request,
        "roadmap/tip_detail.html",
        {
            "tip": tip,
            "board": board,
            "shown": ADVANCING_SHOWN,
            "history": history,
            "advancing": advancing,
            "form": form if may_update else None,
        },
    )


# Targets, set and changed on the plan page and the partner's profile ---------------


def target_form(request, partner=None):
    """(form, saved): the target form of a manager or admin (None for others), and whether
    this request stored a target or deactivated one (the caller then redirects). A POST
    from anyone else is refused."""
    may_set = request.user.has_perm("roadmap.add_target")
    posted = request.method == "POST"
    if posted and not may_set:
        raise PermissionDenied("Only managers and admins set targets.")
    if not may_set:
        return None, False
    if posted and "edit" in request.POST:
        return None, _edit_target(request)
    if posted and "deactivate" in request.POST:
        if not request.user.has_perm("roadmap.change_target"):
            raise PermissionDenied("Only managers and admins change targets.")
        deactivated = Target.objects.filter(pk=_int_or_none(request.POST["deactivate"]))
        for target in deactivated.filter(active=True):  # one, saved for its history
            target.active = False
            target.save(update_fields=["active"])
            messages.success(request, f"Target deactivated: {target}.")
        return None, True
    form = TargetForm(request.POST if posted else None, partner=partner, user=request.user)
    if posted and form.is_valid():
        form.instance.created_by = request.user
        messages.success(request, f"Target set: {form.save()}.")
        return form, True
    return form, False


def _edit_target(request):
    """A target's minimum, months and note changed in its row (saved for its history)."""
    if not request.user.has_perm("roadmap.change_target"):
        raise PermissionDenied("Only managers and admins change targets.")
    target = Target.objects.filter(pk=_int_or_none(request.POST["edit"]), active=True).first()
    if target is None:
        messages.error(request, "That target is no longer active: nothing changed.")
        return True
    form = TargetEditForm(request.POST, instance=target, user=request.user)
    if form.is_valid():
        messages.success(request, f"Target changed: {form.save()}.")
    else:
        problems = [
            (f"{form.fields[name].label}: " if name in form.fields else "") + " ".join(errors)
            for name, errors in form.errors.items()
        ]
        messages.error(request, f"Target not changed: {'; '.join(problems)}")
    return True


def _int_or_none(value):
    return int(value) if value.isdigit() and len(value) < 10 else None
