import datetime

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from engagements.choices import EngagementStatus
from engagements.downloads import DOWNLOAD_FORMATS, download
from engagements.models import Engagement
from engagements.tables import table_rows
from partners.choices import PartnerKind, Region
from roadmap import reports
from roadmap.forms import TipStatusForm
from roadmap.models import Challenge, Pillar, Tip


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
    advancing = table_rows(
        Engagement.objects.visible_to(request.user)
        .filter(tips=tip)
        .order_by("-start_date", "-id")[:50]
    )
    return render(
        request,
        "roadmap/tip_detail.html",
        {
            "tip": tip,
            "board": next(
                row for row in reports.tip_board(request.user) if row["number"] == number
            ),
            "history": tip.status_updates.select_related("created_by").order_by(
                "-created_at", "-id"
            ),
            "advancing": advancing,
            "form": form if may_update else None,
        },
    )


# Reports -----------------------------------------------------------------------------

PERIOD_PRESETS = {
    "3m": "Last 3 months",
    "6m": "Last 6 months",
    "12m": "Last 12 months",
    "this_year": "This year",
    "last_year": "Last year",
    "custom": "Custom dates",
}


def _date(value):
    try:
        return datetime.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def report_period(params):
    """(start, end, preset, errors) from the query string; default the last 12 months."""
    today = timezone.localdate()
    preset = params.get("period") or ("custom" if params.get("start") else "12m")
    errors = []
    if preset == "custom":
        start, end = _date(params.get("start")), _date(params.get("end")) or today
        if start is None:
            errors.append("Give a valid start date (YYYY-MM-DD) for a custom period.")
            start = reports.last_months(12, end)[0]
        if end < start:
            errors.append("The period ends before it starts.")
            start, end = end, start
        if end.year - start.year > reports.MAX_PERIOD_YEARS:
            errors.append(
                f"A period spans at most {reports.MAX_PERIOD_YEARS} years; "
                f"showing the last {reports.MAX_PERIOD_YEARS}."
            )
            start = datetime.date(max(end.year - reports.MAX_PERIOD_YEARS, datetime.MINYEAR), 1, 1)
        return start, end, preset, errors
    if preset == "this_year":
        return datetime.date(today.year, 1, 1), today, preset, errors
    if preset == "last_year":
        return (
            datetime.date(today.year - 1, 1, 1),
            datetime.date(today.year - 1, 12, 31),
            preset,
            errors,
        )
    months = {"3m": 3, "6m": 6}.get(preset, 12)
    start, end = reports.last_months(months, today)
    return start, end, preset if preset in PERIOD_PRESETS else "12m", errors


def _report_status(params):
    """The status to count (default completed), or "any"."""
    status = params.get("status", EngagementStatus.COMPLETED)
    if status not in EngagementStatus.values and status != "any":
        return EngagementStatus.COMPLETED
    return status


def coverage_report(request):
    params = request.GET
    start, end, preset, errors = report_period(params)
    status = _report_status(params)
    kind = params.get("kind") if params.get("kind") in PartnerKind.values else None
    region = params.get("region") if params.get("region") in Region.values else None
    rollup = params.get("rollup") == "members"
    data = reports.coverage(
        request.user,
        start=start,
        end=end,
        kind=kind,
        region=region,
        status=None if status == "any" else status,
        rollup=rollup,
    )
    if params.get("sort") == "total":
        data["rows"].sort(key=lambda row: (-row["total"], row["name"]))
    if params.get("format") in DOWNLOAD_FORMATS:
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
    return render(
        request,
        "roadmap/coverage.html",
        {
            "data": data,
            "pillar_names": pillar_headings(),
            "errors": errors,
            "preset": preset,
            "presets": PERIOD_PRESETS,
            "status": status,
            "kind": kind,
            "region": region,
            "kinds": PartnerKind.choices,
            "regions": Region.choices,
            "statuses": EngagementStatus.choices,
            "sort": params.get("sort", "name"),
        },
    )


def pillar_headings():
    return list(Pillar.objects.order_by("order").values_list("code", "name"))


def trend_report(request):
    params = request.GET
    start, end, preset, errors = report_period(params)
    interval = "quarter" if params.get("interval") == "quarter" else "month"
    status = _report_status(params)
    data = reports.trend(
        request.user, start, end, interval, status=None if status == "any" else status
    )
    if params.get("format") in DOWNLOAD_FORMATS:
        header = ["period", *data["pillars"], "total"]
        rows = (
            [period["period"], *(period["counts"][p] for p in data["pillars"]), period["total"]]
            for period in data["periods"]
        )
        return download(params["format"], "trend", header, rows)
    return render(
        request,
        "roadmap/trend.html",
        {
            "data": data,
            "chart": trend_chart(data),
            "errors": errors,
            "preset": preset,
            "presets": PERIOD_PRESETS,
            "status": status,
            "statuses": EngagementStatus.choices,
        },
    )


CHART_COLOURS = ["#1d4ed8", "#b91c1c", "#047857", "#a16207"]


def trend_chart(data, width=760, height=260, margin=36):
    """Coordinates for a server-rendered SVG line chart (no script, no CDN)."""
    periods = data["periods"]
    peak = max((max(p["counts"].values(), default=0) for p in periods), default=0) or 1
    step = (width - 2 * margin) / max(len(periods) - 1, 1)

    def point(index, value):
        x = margin + index * step
        y = height - margin - (height - 2 * margin) * value / peak
        return f"{x:.1f},{y:.1f}"

    lines = [
        {
            "pillar": pillar,
            "colour": CHART_COLOURS[position % len(CHART_COLOURS)],
            "points": " ".join(point(i, p["counts"][pillar]) for i, p in enumerate(periods)),
        }
        for position, pillar in enumerate(data["pillars"])
    ]
    every = max(1, -(-len(periods) // 8))  # at most eight labels, so they never overlap
    labels = [
        {"x": margin + i * step, "text": p["period"]}
        for i, p in enumerate(periods)
        if i % every == 0
    ]
    return {
        "width": width,
        "height": height,
        "margin": margin,
        "peak": peak,
        "lines": lines,
        "labels": labels,
        "baseline": height - margin,
    }


def gaps_report(request):
    params = request.GET
    try:
        months = min(max(int(params.get("months", 6)), 1), 120)
    except ValueError:
        months = 6
    as_of = _date(params.get("as_of")) or timezone.localdate()
    data = reports.gaps(request.user, months=months, as_of=as_of)
    if params.get("format") in DOWNLOAD_FORMATS:
        rows = ([gap["partner"], gap["pillar"], gap["last"]] for gap in data["gaps"])
        return download(params["format"], "gaps", ["partner", "pillar", "last"], rows)
    return render(request, "roadmap/gaps.html", {"data": data})


def tip_board_report(request):
    board = reports.tip_board(request.user)
    if request.GET.get("format") in DOWNLOAD_FORMATS:
        header = ["number", "code", "title", "status", "set_at", "set_by", "note"]
        header += ["engagements_12_months", "engagements_6_months", "flags"]
        rows = ([tip[name] for name in header[:-1]] + ["; ".join(tip["flags"])] for tip in board)
        return download(request.GET["format"], "tips", header, rows)
    return render(request, "roadmap/tip_board.html", {"tip_board": board})
