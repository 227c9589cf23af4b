from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render

from core.downloads import DOWNLOAD_FORMATS, download
from engagements.choices import EngagementStatus, ReviewDecision
from engagements.models import Engagement
from engagements.tables import table_rows
from partners.choices import PartnerKind, Region
from roadmap import reports
from roadmap.forms import (
    CoverageForm,
    GapsForm,
    PlanForm,
    TargetEditForm,
    TargetForm,
    TipStatusForm,
    TrendForm,
)
from roadmap.models import Challenge, Pillar, Target, Tip


def roadmap(request):
    counts = reports.roadmap_counts(request.user)
    pillars = Pillar.objects.order_by("order").prefetch_related("facets")
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
            "tip_board": reports.tip_board(request.user),
            "challenges": Challenge.objects.order_by("order"),
        },
    )


ADVANCING_SHOWN = 50


def tip_detail(request, number):
    tip = get_object_or_404(Tip.objects.prefetch_related("pillars"), number=number)
    may_update = request.user.has_perm("roadmap.add_tipstatusupdate")
    form = TipStatusForm(request.POST or None)
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
    board = next(row for row in reports.tip_board(request.user) if row["number"] == number)
    # The rows behind the board's number: completed, in its 12 months, newest first.
    advancing = table_rows(
        Engagement.objects.visible_to(request.user)
        .filter(
            tips=tip,
            status=EngagementStatus.COMPLETED,
            start_date__range=(board["start_12_months"], board["as_of"]),
        )
        .order_by("-start_date", "-id")[:ADVANCING_SHOWN]
    )
    return render(
        request,
        "roadmap/tip_detail.html",
        {
            "tip": tip,
            "board": board,
            "shown": ADVANCING_SHOWN,
            "history": tip.status_updates.select_related("created_by").order_by(
                "-created_at", "-id"
            ),
            "advancing": advancing,
            "form": form if may_update else None,
        },
    )


# Reports -----------------------------------------------------------------------------
#
# Each page and its downloads read their parameters through the report's form
# (roadmap/forms.py), the same one the API uses. Bad parameters are answered 400: a
# download with the messages as text, a page with the messages above the default report.


def _report_form(request, form_class):
    """(form, errors): a valid form for the request, or the default one and the errors."""
    form = form_class(request.GET)
    if form.is_valid():
        return form, []
    errors = form.error_lines()
    form = form_class()
    form.is_valid()
    return form, errors


def _bad_download(errors):
    return HttpResponseBadRequest(
        "\n".join(errors) + "\n", content_type="text/plain; charset=utf-8"
    )


def _render(request, template, context, errors):
    return render(request, template, {**context, "errors": errors}, status=400 if errors else 200)


def coverage_report(request):
    params = request.GET
    form, errors = _report_form(request, CoverageForm)
    wants_download = params.get("format") in DOWNLOAD_FORMATS
    if errors and wants_download:
        return _bad_download(errors)
    cleaned = form.cleaned_data
    data = reports.coverage(request.user, **form.report_arguments())
    if params.get("sort") == "total":
        data["rows"].sort(key=lambda row: (-row["total"], row["name"]))
    if wants_download:
        header = ["partner", "name"]
        for pillar in data["pillars"]:
            header += [pillar, f"{pillar}_last"]
        header.append("total")
        rows = (
            [row["partner"], row["name"]]
            + [
                value
                for pillar in data["pillars"]
                for value in (row["cells"][pillar]["count"], row["cells"][pillar]["last"])
            ]
            + [row["total"]]
            for row in data["rows"]
        )
        return download(params["format"], "coverage", header, rows)
    return _render(
        request,
        "roadmap/coverage.html",
        {
            "data": data,
            "pillar_names": pillar_headings(),
            "preset": cleaned["period"],
            "presets": form.presets,
            "status": cleaned["status"],
            "kind": cleaned["kind"],
            "region": cleaned["region"],
            "kinds": PartnerKind.choices,
            "regions": Region.choices,
            "statuses": EngagementStatus.choices,
            "sort": params.get("sort", "name"),
        },
        errors,
    )


def pillar_headings():
    return list(Pillar.objects.order_by("order").values_list("code", "name"))


def trend_report(request):
    params = request.GET
    form, errors = _report_form(request, TrendForm)
    wants_download = params.get("format") in DOWNLOAD_FORMATS
    if errors and wants_download:
        return _bad_download(errors)
    cleaned = form.cleaned_data
    data = reports.trend(request.user, **form.report_arguments())
    if wants_download:
        header = ["period", *data["pillars"], "total"]
        rows = (
            [period["period"], *(period["counts"][p] for p in data["pillars"]), period["total"]]
            for period in data["periods"]
        )
        return download(params["format"], "trend", header, rows)
    names = dict(pillar_headings())
    return _render(
        request,
        "roadmap/trend.html",
        {
            "data": data,
            "chart": trend_chart(data, names),
            "pillar_names": list(names.items()),
            "preset": cleaned["period"],
            "presets": form.presets,
            "status": cleaned["status"],
            "statuses": EngagementStatus.choices,
        },
        errors,
    )


CHART_COLOURS = ["#1d4ed8", "#b91c1c", "#047857", "#a16207"]
ALL_PILLARS_COLOUR = "#111827"


def nice_step(peak, ticks=5):
    """A gridline step of 1, 2 or 5 times a power of ten giving at most `ticks` lines."""
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            if peak / (factor * magnitude) <= ticks:
                return factor * magnitude
        magnitude *= 10


def trend_chart(data, pillar_names, width=760, height=300):
    """Coordinates for a server-rendered SVG line chart (no script, no CDN): a line per
    pillar and one for all pillars (distinct engagements), gridlines with their values,
    a tick per period and at most eight period labels."""
    left, right, top, bottom = 44, 16, 14, 40
    periods = data["periods"]
    peak = max((p["total"] for p in periods), default=0)
    step_y = nice_step(peak or 1)
    top_value = max(step_y, -(-peak // step_y) * step_y)
    plot_w, plot_h = width - left - right, height - top - bottom
    step_x = plot_w / max(len(periods) - 1, 1)

    def x(index):
        return left + index * step_x

    def y(value):
        return top + plot_h - plot_h * value / top_value

    # A period cut by the range (this month, so far) is not a fall: the line stops at the
    # last whole period, and a dotted stretch leads to the partial one, marked as such.
    count = len(periods)
    cut_first = count > 1 and periods[0].get("partial", False)
    cut_last = count > 1 and periods[-1].get("partial", False)
    whole = range(1 if cut_first else 0, count - 1 if cut_last else count)
    stretches = ([(0, 1)] if cut_first else []) + ([(count - 2, count - 1)] if cut_last else [])

    def points(values, indexes):
        return " ".join(f"{x(i):.1f},{y(values[i]):.1f}" for i in indexes)

    def line(pillar, name, colour, values, dash):
        return {
            "pillar": pillar,
            "name": name,
            "colour": colour,
            "points": points(values, whole),
            "partial": [points(values, stretch) for stretch in stretches],
            "dash": dash,
        }

    lines = [
        line(
            pillar,
            pillar_names.get(pillar, pillar),
            CHART_COLOURS[position % len(CHART_COLOURS)],
            [p["counts"][pillar] for p in periods],
            "",
        )
        for position, pillar in enumerate(data["pillars"])
    ]
    lines.append(
        line(
            "all",
            "All pillars (distinct engagements)",
            ALL_PILLARS_COLOUR,
            [p["total"] for p in periods],
            "6 4",
        )
    )
    every = max(1, -(-len(periods) // 8))  # at most eight labels, so they never overlap
    return {
        "width": width,
        "height": height,
        "left": left,
        "right": width - right,
        "baseline": top + plot_h,
        "lines": lines,
        "grid": [
            {"y": f"{y(value):.1f}", "value": value} for value in range(0, top_value + 1, step_y)
        ],
        "ticks": [
            {"x": f"{x(i):.1f}", "label": p["period"] if i % every == 0 else ""}
            for i, p in enumerate(periods)
        ],
        "partial_marks": [
            {"x": f"{x(i):.1f}", "label": "so far" if i == count - 1 else "part"}
            for i in ([0] if cut_first else []) + ([count - 1] if cut_last else [])
        ],
        "top": top,
    }


def gaps_report(request):
    params = request.GET
    form, errors = _report_form(request, GapsForm)
    wants_download = params.get("format") in DOWNLOAD_FORMATS
    if errors and wants_download:
        return _bad_download(errors)
    data = reports.gaps(request.user, **form.report_arguments())
    if wants_download:
        rows = ([gap["partner"], gap["pillar"], gap["last"]] for gap in data["gaps"])
        return download(params["format"], "gaps", ["partner", "pillar", "last"], rows)
    return _render(
        request,
        "roadmap/gaps.html",
        {"data": data, "max_months": GapsForm.base_fields["months"].max_value},
        errors,
    )


def tip_board_report(request):
    board = reports.tip_board(request.user)
    if request.GET.get("format") in DOWNLOAD_FORMATS:
        header = ["number", "code", "title", "status", "set_at", "set_by", "note"]
        header += ["engagements_12_months", "engagements_6_months", "flags"]
        rows = ([tip[name] for name in header[:-1]] + ["; ".join(tip["flags"])] for tip in board)
        return download(request.GET["format"], "tips", header, rows)
    return render(request, "roadmap/tip_board.html", {"tip_board": board})


# Engagement plan and escalation review -------------------------------------------------

PLAN_COLUMNS = ["partner", "pillar", "minimum", "months", "done", "planned", "last", "status"]


def plan_report(request):
    """Targets and where they stand, with CSV/XLSX; managers and admins add a target."""
    params = request.GET
    form, errors = _report_form(request, PlanForm)
    wants_download = params.get("format") in DOWNLOAD_FORMATS
    if errors and wants_download:
        return _bad_download(errors)
    new_target = None
    if not wants_download:
        new_target, saved = target_form(request)
        if saved:
            return redirect(request.get_full_path())
    data = reports.plan(request.user, **form.report_arguments())
    if wants_download:
        rows = ([row[name] for name in PLAN_COLUMNS] for row in data["targets"])
        return download(params["format"], "plan", PLAN_COLUMNS, rows)
    return _render(
        request,
        "roadmap/plan.html",
        {"data": data, "target_form": new_target},
        errors,
    )


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
    form = TargetForm(request.POST if posted else None, partner=partner)
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
    form = TargetEditForm(request.POST, instance=target)
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


def risks_report(request):
    """Visible planned high-risk engagements, soonest first, with their review."""
    context = {"risks": reports.risks(request.user), "review_decisions": ReviewDecision.choices}
    return render(request, "roadmap/risks.html", context)
