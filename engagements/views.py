import datetime

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from accounts import saved_views
from accounts.choices import Role
from engagements.choices import EngagementStatus
from engagements.downloads import DOWNLOAD_FORMATS, download
from engagements.exports import EXPORT_FIELDS, export_rows, with_relations
from engagements.filters import EngagementFilterSet, filter_chips, sort_column
from engagements.forms import EngagementForm
from engagements.history import engagement_history
from engagements.models import Engagement, StaleVersion
from engagements.pagination import keyset_ordering, paginate
from engagements.services import NotVisible, delete_engagement
from engagements.tables import table_rows
from roadmap import reports
from roadmap.models import Pillar

PAGE_SIZES = (25, 50, 100, 250, 500)


def get_visible_engagement(request, pk):
    """The engagement, or 404 when it does not exist for this user (absent or above clearance)."""
    return get_object_or_404(Engagement.objects.visible_to(request.user), pk=pk)


# The list counts its rows up to this many, then says "more than": never a COUNT over the
# whole table (a bounded subquery reads at most LIST_COUNT_LIMIT + 1 index entries).
LIST_COUNT_LIMIT = 10_000


def engagement_list(request):
    """The engagement list. Opened without `start_before`, it shows engagements starting up
    to today (newest first), so the first screen is recent work, not next year's plans; the
    filter shows as a chip like any other, and removing it (`start_before=` empty) shows
    every date."""
    params = request.GET
    if "start_before" not in params:
        params = params.copy()
        params["start_before"] = timezone.localdate().isoformat()
    filterset = EngagementFilterSet(
        params, queryset=Engagement.objects.visible_to(request.user), request=request
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
    saved = saved_views.views_of(request.user)
    saved_views.remember(request, saved)
    return render(
        request,
        "engagements/engagement_list.html",
        {
            "filterset": filterset,
            "page": page,
            "rows": table_rows(page),
            "count": (count := bounded_count(engagements)),
            "count_label": count_label(count),
            "chips": filter_chips(filterset, request.GET),
            "saved_views": saved,
            "save_query": saved_views.clean_query(request.GET.urlencode()),
            "ordering": key,
            "per_page": per_page,
            "page_sizes": PAGE_SIZES,
        },
    )


def bounded_count(engagements):
    """The number of rows, exact up to LIST_COUNT_LIMIT, else LIST_COUNT_LIMIT + 1:
    `SELECT COUNT(*) FROM (SELECT id … LIMIT 10001)`."""
    return engagements.order_by().values("pk")[: LIST_COUNT_LIMIT + 1].count()


def count_label(count):
    if count > LIST_COUNT_LIMIT:
        return f"More than {LIST_COUNT_LIMIT:,} engagements match."
    return f"{count:,} engagement{'' if count == 1 else 's'} match{'es' if count == 1 else ''}."


def _page_size(request):
    try:
        size = int(request.GET.get("page_size", 50))
    except ValueError:
        return 50
    return min(max(size, 1), 500)


def engagement_detail(request, pk):
    engagement = get_object_or_404(
        with_relations(Engagement.objects.visible_to(request.user)), pk=pk
    )
    return render(
        request,
        "engagements/engagement_detail.html",
        {
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


UPCOMING_SHOWN = 15  # the dashboard's table; "15 of 45" links to all of them


def dashboard(request):
    today = timezone.localdate()
    month_start = today.replace(day=1)
    quarter_start = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
    visible = Engagement.objects.visible_to(request.user)
    not_cancelled = [EngagementStatus.PLANNED, EngagementStatus.COMPLETED]
    month = reports.trend(request.user, month_start, today, "month", status=not_cancelled)
    quarter = reports.trend(request.user, quarter_start, today, "quarter", status=not_cancelled)
    pillar_names = dict(Pillar.objects.order_by("order").values_list("code", "name"))
    upcoming_end = today + datetime.timedelta(days=30)
    upcoming = visible.filter(status="planned", start_date__range=(today, upcoming_end))
    context = {
        "recent": table_rows(
            visible.filter(created_by=request.user).order_by("-created_at", "-id")[:8]
        ),
        "upcoming": table_rows(upcoming.order_by("start_date", "id")[:UPCOMING_SHOWN]),
        "upcoming_count": upcoming.count(),
        "upcoming_end": upcoming_end,
        "per_pillar": [
            (
                code,
                pillar_names[code],
                month["periods"][0]["counts"][code],
                quarter["periods"][0]["counts"][code],
            )
            for code in month["pillars"]
        ],
        "counted_statuses": not_cancelled,
        "month_start": month_start,
        "quarter_start": quarter_start,
        "today": today,
    }
    if request.user.role in (Role.MANAGER, Role.ADMIN):
        context["coverage"] = reports.coverage(request.user)
        context["gaps"] = reports.gaps(request.user, limit=5)
        context["tip_board"] = reports.tip_board(request.user)
        context["pillar_names"] = list(pillar_names.items())
    return render(request, "dashboard.html", context)
