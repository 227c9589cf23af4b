"""The report pages and their downloads, and the dashboard.

Every report page is a `ReportView`: its parameters read through the report's form
(reports/forms.py, the same one the API uses), its numbers from one function of
`reports.queries`, rendered as HTML or as CSV/XLSX with the same filters. Bad parameters are
answered 400: a download with the messages as text, a page with the messages above the
default report.
"""

import datetime

from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views import View

from accounts.choices import Role
from accounts.markings import highest_of, marked_download, shown
from core import periods
from core.downloads import DOWNLOAD_FORMATS
from engagements.choices import ActionStatus, EngagementStatus, ReviewDecision
from engagements.models import Action, Engagement
from engagements.tables import table_rows
from engagements.views import action_rows
from jobs.models import Job
from partners.choices import PartnerKind, Region
from reports import queries
from reports.forms import CoverageForm, GapsForm, PlanForm, TrendForm
from roadmap.models import Pillar
from roadmap.views import target_form


class ReportView(View):
    """A report page with its CSV and XLSX downloads. A concrete report says its `form`
    (None: no parameters), `template`, `download_name`, and how it reads (`report`),
    what its page shows besides the data (`page_context`) and its download's columns
    (`table`: (header, rows)). The page and the file are marked as the report says
    (`marking`: the highest marking of what it draws on, computed with its numbers)."""

    form = None
    template = None
    download_name = None

    def report(self, arguments):
        raise NotImplementedError

    def table(self, data):
        raise NotImplementedError

    def page_context(self, data, form):
        return {}

    def marking(self, data):
        return data["marking"]

    def get(self, request, *args, **kwargs):
        wants_download = self.download_name and request.GET.get("format") in DOWNLOAD_FORMATS
        form, errors = self.read_form(request)
        if errors and wants_download:
            text = "\n".join(errors) + "\n"
            return HttpResponseBadRequest(text, content_type="text/plain; charset=utf-8")
        if wants_download:
            data = self.report(form.report_arguments() if form else {})
            header, rows = self.table(data)
            return marked_download(request, self.download_name, header, rows, self.marking(data))
        return self.render_page(request, form, errors)

    def render_page(self, request, form, errors, page_context=None):
        """The page of the report for `form`, marked as the report says. `page_context`,
        when given, stands for the view's own (a POST's, holding what was sent)."""
        data = self.report(form.report_arguments() if form else {})
        shown(request, self.marking(data))
        extra = self.page_context(data, form) if page_context is None else page_context
        context = {"data": data, **extra, "errors": errors}
        return render(request, self.template, context, status=400 if errors else 200)

    def read_form(self, request):
        """(form, errors): a valid form for the request, or the default one and the errors."""
        if self.form is None:
            return None, []
        form = self.form(request.GET)
        if form.is_valid():
            return form, []
        errors = form.error_lines()
        form = self.form()
        form.is_valid()
        return form, errors


def pillar_headings():
    return list(Pillar.objects.order_by("order").values_list("code", "name"))


class CoverageView(ReportView):
    form, template, download_name = CoverageForm, "reports/coverage.html", "coverage"

    def report(self, arguments):
        data = queries.coverage(self.request.user, **arguments)
        if self.request.GET.get("sort") == "total":
            data["rows"].sort(key=lambda row: (-row["total"], row["name"]))
        return data

    def table(self, data):
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
        return header, rows

    def page_context(self, data, form):
        cleaned = form.cleaned_data
        return {
            "pillar_names": pillar_headings(),
            "preset": cleaned["period"],
            "presets": form.presets,
            "status": cleaned["status"],
            "kind": cleaned["kind"],
            "region": cleaned["region"],
            "kinds": PartnerKind.choices,
            "regions": Region.choices,
            "statuses": EngagementStatus.choices,
            "sort": self.request.GET.get("sort", "name"),
            # Partner changes still being applied to the totals and rolled-up rows.
            "changes_applied": list(Job.objects.applying_partner_changes()),
        }


class TrendView(ReportView):
    form, template, download_name = TrendForm, "reports/trend.html", "trend"

    def report(self, arguments):
        return queries.trend(self.request.user, **arguments)

    def table(self, data):
        header = ["period", *data["pillars"], "total"]
        rows = (
            [period["period"], *(period["counts"][p] for p in data["pillars"]), period["total"]]
            for period in data["periods"]
        )
        return header, rows

    def page_context(self, data, form):
        names = dict(pillar_headings())
        cleaned = form.cleaned_data
        return {
            "chart": trend_chart(data, names),
            "pillar_names": list(names.items()),
            "preset": cleaned["period"],
            "presets": form.presets,
            "status": cleaned["status"],
            "statuses": EngagementStatus.choices,
        }


class GapsView(ReportView):
    form, template, download_name = GapsForm, "reports/gaps.html", "gaps"

    def report(self, arguments):
        return queries.gaps(self.request.user, **arguments)

    def table(self, data):
        rows = ([gap["partner"], gap["pillar"], gap["last"]] for gap in data["gaps"])
        return ["partner", "pillar", "last"], rows

    def page_context(self, data, form):
        return {"max_months": GapsForm.base_fields["months"].max_value}


class TipBoardView(ReportView):
    template, download_name = "reports/tip_board.html", "tips"
    COLUMNS = ["number", "code", "title", "status", "set_at", "set_by", "note", "note_marking"]
    COLUMNS += ["engagements_12_months", "engagements_6_months"]

    def report(self, arguments):
        return queries.tip_board(self.request.user)

    def marking(self, data):
        return highest_of(data)

    def table(self, data):
        rows = ([tip[name] for name in self.COLUMNS] + ["; ".join(tip["flags"])] for tip in data)
        return [*self.COLUMNS, "flags"], rows

    def page_context(self, data, form):
        return {"tip_board": data}


class PlanView(ReportView):
    """Targets and where they stand; managers and admins add, change or deactivate one."""

    form, template, download_name = PlanForm, "reports/plan.html", "plan"
    COLUMNS = ["partner", "pillar", "minimum", "months", "done", "planned", "last", "status"]

    def report(self, arguments):
        return queries.plan(self.request.user, **arguments)

    def table(self, data):
        return self.COLUMNS, ([row[name] for name in self.COLUMNS] for row in data["targets"])

    def page_context(self, data, form):
        return {"target_form": target_form(self.request)[0]}

    def post(self, request, *args, **kwargs):
        new_target, saved = target_form(request)
        if saved:
            return redirect(request.get_full_path())
        form, errors = self.read_form(request)
        return self.render_page(request, form, errors, {"target_form": new_target})


class RisksView(ReportView):
    """Visible planned high-risk engagements, soonest first, with their review."""

    template = "reports/risks.html"

    def report(self, arguments):
        return queries.risks(self.request.user)

    def marking(self, data):
        return highest_of(data)

    def page_context(self, data, form):
        return {"risks": data, "review_decisions": ReviewDecision.choices}


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


UPCOMING_SHOWN = 15  # the dashboard's table; "15 of 45" links to all of them
DUE_SOON_DAYS = 7  # the dashboard's "my actions": overdue, or due within this many days


def dashboard(request):
    today = timezone.localdate()
    month_start = today.replace(day=1)
    quarter_start = periods.quarter_start(today)
    visible = Engagement.objects.restrict(request.user)
    not_cancelled = [EngagementStatus.PLANNED, EngagementStatus.COMPLETED]
    month = queries.trend(request.user, month_start, today, "month", status=not_cancelled)
    quarter = queries.trend(request.user, quarter_start, today, "quarter", status=not_cancelled)
    pillar_names = dict(pillar_headings())
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
    # What needs the user comes first: their open actions overdue or due within a week.
    mine = Action.objects.restrict(request.user).filter(
        owner=request.user, status=ActionStatus.OPEN
    )
    context["due_soon_end"] = today + datetime.timedelta(days=DUE_SOON_DAYS)
    context["my_actions"] = action_rows(
        mine.filter(due__lte=context["due_soon_end"])
        .select_related("engagement", "owner")
        .order_by("due", "id")[:10],
        request.user,
        today,
    )
    context["my_open_count"] = mine.count()
    shown(
        request,
        month["marking"],
        quarter["marking"],
        *(row.marking for row in context["recent"] + context["upcoming"]),
        *(action.engagement.marking for action, *_ in context["my_actions"]),
    )
    if request.user.role in (Role.MANAGER, Role.ADMIN):
        targets = queries.plan(request.user)["targets"]
        context["active_targets"] = len(targets)
        context["targets_behind"] = [row for row in targets if row["status"] == "behind"]
        context["unreviewed"] = queries.risks(
            request.user, today, today + datetime.timedelta(days=30), unreviewed=True
        )
        context["review_decisions"] = ReviewDecision.choices
        context["coverage"] = queries.coverage(request.user)
        context["gaps"] = queries.gaps(request.user, limit=5)
        context["tip_board"] = queries.tip_board(request.user)
        context["pillar_names"] = list(pillar_names.items())
        shown(
            request,
            highest_of(context["targets_behind"]),
            highest_of(context["unreviewed"]),
            context["coverage"]["marking"],
            context["gaps"]["marking"],
            highest_of(context["tip_board"]),
        )
    return render(request, "reports/dashboard.html", context)
