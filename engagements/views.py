import datetime

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Case, When
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.choices import Role
from engagements.choices import ActionStatus, EngagementStatus, EscalationRisk
from engagements.downloads import DOWNLOAD_FORMATS, download
from engagements.exports import EXPORT_FIELDS, export_rows, with_relations
from engagements.filters import ActionFilter, EngagementFilterSet, sort_column
from engagements.forms import ActionForm, EngagementForm, ReviewForm
from engagements.history import engagement_history
from engagements.models import Action, Engagement, StaleVersion
from engagements.pagination import keyset_ordering, paginate
from engagements.services import NotVisible, delete_engagement
from engagements.tables import table_rows
from roadmap import reports
from roadmap.models import Pillar

PAGE_SIZES = (25, 50, 100, 250, 500)


def get_visible_engagement(request, pk):
    """The engagement, or 404 when it does not exist for this user (absent or above clearance)."""
    return get_object_or_404(Engagement.objects.visible_to(request.user), pk=pk)


def engagement_list(request):
    filterset = EngagementFilterSet(
        request.GET, queryset=Engagement.objects.visible_to(request.user), request=request
    )
    engagements = filterset.qs if filterset.is_valid() else Engagement.objects.none()
    ordering = (filterset.form.cleaned_data.get("ordering") if filterset.is_valid() else None) or [
        "-start_date"
    ]
    key = ordering[0]
    keyset = keyset_ordering(sort_column(key))

    if request.GET.get("format") in DOWNLOAD_FORMATS:
        return download(
            request.GET["format"],
            "engagements",
            EXPORT_FIELDS,
            export_rows(engagements.order_by(*keyset)),  # one snapshot, through the gate
        )

    per_page = _page_size(request)
    try:
        page = paginate(engagements, keyset, per_page, request.GET.get("cursor"))
    except ValidationError as error:
        messages.error(request, error.messages[0])
        page = paginate(engagements, keyset, per_page)
    return render(
        request,
        "engagements/engagement_list.html",
        {
            "filterset": filterset,
            "page": page,
            "rows": table_rows(page),
            "ordering": key,
            "per_page": per_page,
            "page_sizes": PAGE_SIZES,
        },
    )


def _page_size(request):
    try:
        size = int(request.GET.get("page_size", 50))
    except ValueError:
        return 50
    return min(max(size, 1), 500)


def engagement_detail(request, pk, **forms):
    engagement = get_object_or_404(
        with_relations(Engagement.objects.visible_to(request.user)), pk=pk
    )
    return render(
        request,
        "engagements/engagement_detail.html",
        {
            **follow_up(request, engagement, **forms),
            "engagement": engagement,
            "facets": list(engagement.facets.select_related("pillar")),
            "can_change": engagement.can_be_changed_by(request.user),
            "can_delete": engagement.can_be_deleted_by(request.user),
            "history": engagement_history(engagement.pk, request.user),
        },
    )


@permission_required("engagements.add_engagement", raise_exception=True)
def engagement_create(request):
    form = EngagementForm(request.POST or None, user=request.user)
    duplicates = []
    if request.method == "POST" and form.is_valid():
        if not request.POST.get("confirm_duplicate"):
            duplicates = Engagement.objects.visible_to(request.user).possible_duplicates(
                form.cleaned_data["partners"],
                form.cleaned_data["start_date"],
                form.cleaned_data["end_date"],
                form.cleaned_data["title"],
            )
        if not duplicates:
            try:
                engagement = form.save()
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, f"Logged “{engagement.title}”.")
                return redirect(engagement)
    return render(
        request,
        "engagements/engagement_form.html",
        {"form": form, "duplicates": duplicates, "creating": True},
    )


@permission_required("engagements.change_engagement", raise_exception=True)
def engagement_edit(request, pk):
    engagement = get_visible_engagement(request, pk)
    form = EngagementForm(request.POST or None, instance=engagement, user=request.user)
    conflict = None
    if request.method == "POST" and form.is_valid():
        try:
            engagement = form.save()
        except ValidationError as error:
            form.add_error(None, error)
        except StaleVersion:
            # The other version, only if this user may see it now (it may have been raised).
            conflict = (
                with_relations(Engagement.objects.visible_to(request.user)).filter(pk=pk).first()
            )
            if conflict is None:
                return _gone(request)
            # Keep the user's input; let them save again on top of the newer version.
            form.data = form.data.copy()
            form.data["version"] = conflict.version
        except NotVisible:
            return _gone(request)
        else:
            messages.success(request, f"Saved “{engagement.title}”.")
            return redirect(engagement)
    return render(
        request,
        "engagements/engagement_form.html",
        {"form": form, "engagement": engagement, "conflict": conflict},
    )


def _gone(request):
    messages.error(
        request,
        "Nothing was saved: the engagement was deleted or is no longer visible to you.",
    )
    return redirect("engagements:list")


def engagement_delete(request, pk):
    engagement = get_visible_engagement(request, pk)
    if not engagement.can_be_deleted_by(request.user):
        raise PermissionDenied("You may delete only engagements you logged.")
    if request.method == "POST":
        try:
            delete_engagement(request.user, pk, _int(request.POST.get("version")))
        except (StaleVersion, ValidationError):
            messages.error(
                request,
                "Nothing was deleted: someone changed this engagement since you opened the "
                "page. Check the newest version and delete again if you still mean to.",
            )
            return redirect(engagement)
        except NotVisible:
            return _gone(request)
        messages.success(request, f"Deleted “{engagement.title}”.")
        return redirect("engagements:list")
    return render(request, "engagements/engagement_confirm_delete.html", {"engagement": engagement})


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def dashboard(request):
    today = timezone.localdate()
    month_start = today.replace(day=1)
    quarter_start = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
    visible = Engagement.objects.visible_to(request.user)
    not_cancelled = [EngagementStatus.PLANNED, EngagementStatus.COMPLETED]
    month = reports.trend(request.user, month_start, today, "month", status=not_cancelled)
    quarter = reports.trend(request.user, quarter_start, today, "quarter", status=not_cancelled)
    pillar_names = dict(Pillar.objects.order_by("order").values_list("code", "name"))
    context = {
        "recent": table_rows(
            visible.filter(created_by=request.user).order_by("-created_at", "-id")[:8]
        ),
        "upcoming": table_rows(
            visible.filter(
                status="planned",
                start_date__range=(today, today + datetime.timedelta(days=30)),
            ).order_by("start_date", "id")[:15]
        ),
        "per_pillar": [
            (
                code,
                pillar_names[code],
                month["periods"][0]["counts"][code],
                quarter["periods"][0]["counts"][code],
            )
            for code in month["pillars"]
        ],
        "month_start": month_start,
        "quarter_start": quarter_start,
        "today": today,
    }
    context["my_actions"] = action_rows(
        Action.objects.visible_to(request.user)
        .filter(owner=request.user, status=ActionStatus.OPEN)
        .select_related("engagement", "owner")
        .order_by("due", "id")[:10],
        request.user,
        today,
    )
    if request.user.role in (Role.MANAGER, Role.ADMIN):
        context["targets_behind"] = [
            row for row in reports.plan(request.user)["targets"] if row["status"] == "behind"
        ]
        context["unreviewed"] = reports.risks(
            request.user, today, today + datetime.timedelta(days=30), unreviewed=True
        )
        context["coverage"] = reports.coverage(request.user)
        context["gaps"] = reports.gaps(request.user, limit=5)
        context["tip_board"] = reports.tip_board(request.user)
        context["pillar_names"] = list(pillar_names.items())
    return render(request, "dashboard.html", context)


# Follow-up actions and escalation reviews ------------------------------------------------


def follow_up(request, engagement, action_form=None, review_form=None):
    """The engagement page's actions and reviews, with the forms to add them."""
    reviews = list(engagement.reviews.select_related("by").order_by("-at", "-id"))
    current = next((review for review in reviews if review.current), None)
    user = request.user
    if action_form is None and user.has_perm("engagements.add_action"):
        action_form = ActionForm(engagement=engagement)
    if review_form is None and user.has_perm("engagements.add_review"):
        review_form = ReviewForm()
    return {
        "actions": action_rows(engagement.actions.select_related("owner"), user),
        "action_form": action_form,
        "reviews": reviews,
        "current_review": current,
        "needs_review": needs_review(engagement, current),
        "review_form": review_form,
    }


def needs_review(engagement, current_review):
    """A planned high-risk engagement needs a review until a manager records one for the
    plan as it stands."""
    return (
        engagement.status == EngagementStatus.PLANNED
        and engagement.escalation_risk == EscalationRisk.HIGH
        and current_review is None
    )


def action_rows(actions, user, today=None):
    """(action, overdue, may_change) for a list of actions, in the order given."""
    today = today or timezone.localdate()
    may_change = user.has_perm("engagements.change_action")
    return [
        (action, action.is_overdue(today), may_change or action.owner_id == user.pk)
        for action in actions
    ]


@require_POST
@permission_required("engagements.add_action", raise_exception=True)
def action_create(request, pk):
    engagement = get_visible_engagement(request, pk)
    form = ActionForm(request.POST, engagement=engagement)
    if not form.is_valid():
        return engagement_detail(request, pk, action_form=form)
    form.instance.created_by = request.user
    action = form.save()
    messages.success(request, f"Action “{action.title}” added for {action.owner.username}.")
    return redirect(engagement)


@require_POST
@permission_required("engagements.add_review", raise_exception=True)
def review_create(request, pk):
    engagement = get_visible_engagement(request, pk)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        return engagement_detail(request, pk, review_form=form)
    form.instance.engagement, form.instance.by = engagement, request.user
    review = form.save()
    messages.success(request, f"Review recorded: {review.get_decision_display().lower()}.")
    return redirect(engagement)


def action_list(request):
    """Every visible action, mine first, by due date; a POST changes one's status."""
    visible = Action.objects.visible_to(request.user)
    if request.method == "POST":
        return _change_action_status(request, visible)
    filterset = ActionFilter(request.GET, queryset=visible, request=request)
    actions = filterset.qs if filterset.is_valid() else visible.none()
    actions = actions.select_related("engagement", "owner").order_by(
        Case(When(owner=request.user, then=0), default=1), "due", "id"
    )
    page = Paginator(actions, 100).get_page(request.GET.get("page"))
    return render(
        request,
        "engagements/action_list.html",
        {"filterset": filterset, "page": page, "rows": action_rows(page, request.user)},
    )


def _change_action_status(request, visible):
    action = get_object_or_404(
        visible.select_related("engagement"), pk=_int(request.POST.get("action"))
    )
    status = request.POST.get("status")
    if not action.can_be_changed_by(request.user):
        raise PermissionDenied("Its owner, its engagement's editors, managers and admins.")
    if status not in ActionStatus.values:
        messages.error(request, "Choose open, done or dropped.")
    else:
        action.status = status
        action.save()
        messages.success(request, f"“{action.title}” is {action.get_status_display().lower()}.")
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("actions")
