"""Every report number the tracker shows, computed once, here.

Each report is one function that takes the user (visibility goes through
`Engagement.objects.restrict`) and its filters and returns plain data (dicts, lists,
dates). HTML pages, CSV/XLSX downloads and the API only render these results.

Each function runs a small, fixed number of queries whatever the number of partners or
engagements: the counting happens in the database.

Each also says the highest marking of what it shows (`marking`: of the whole report, and
of each row where rows are listed on their own, as in the digest): the engagements behind
its numbers and dates, read from the summaries with the numbers (their `marking` column),
and the notes it shows. Notes above the reader's clearance are withheld (`""`, with
`note_withheld`), never shown.
"""

import datetime
import functools

from django.db.models import OuterRef, Prefetch, Subquery
from django.utils import timezone

from accounts.choices import Marking
from accounts.markings import highest_of, shown_note
from accounts.models import visible_markings
from core import cache
from core.periods import (
    ONE_DAY,
    interval_months,
    last_months,
    months_after,
    period_last_day,
    period_starts,
)
from engagements import summaries
from engagements.choices import EngagementStatus
from engagements.models import Engagement, EngagementPartner, Review
from partners.models import Partner
from roadmap.choices import TargetStatus, TipStatus
from roadmap.models import Facet, Pillar, Target, Tip, TipStatusUpdate

# Report results are kept for this long at most, per clearance and parameters, and only
# while nothing they depend on has changed (see `report_key`).
REPORT_CACHE_SECONDS = 600


def report_key(name, user, args=(), kwargs=None, stamp=None):
    """The cache key of one report for one reader (core.cache.result_key): the data stamp
    is read here unless given."""
    stamp = summaries.stamp() if stamp is None else stamp
    return cache.result_key(name, visible_markings(user), args, kwargs or {}, stamp)


def cached_report(function):
    """Serve a report from the cache while its inputs are unchanged (`report_key`), and
    compute each missing one once however many workers ask for it together."""

    @functools.wraps(function)
    def report(user, *args, **kwargs):
        key = report_key(function.__name__, user, args, kwargs)
        compute = functools.partial(function, user, *args, **kwargs)
        return cache.computed_once(key, compute, REPORT_CACHE_SECONDS)

    report.uncached = function
    report.key = functools.partial(report_key, function.__name__)
    return report


# The longest period a report covers: longer ones are refused (reports/forms.py).
MAX_PERIOD_YEARS = 50


# Coverage ----------------------------------------------------------------------------


@cached_report
def coverage(
    user,
    start=None,
    end=None,
    kind=None,
    region=None,
    status=EngagementStatus.COMPLETED,
    rollup=False,
    partner_code=None,
):
    """Partners (rows) by pillars (columns): distinct engagements and the last start date.

    Rows are every active partner matching `kind`/`region` (or exactly the partner
    `partner_code`), including those with nothing, so that gaps show. With `rollup`, an
    organization's row also counts the engagements of the states that were its members on
    the engagement's start date. Row totals, pillar totals and the grand total count
    distinct engagements (of the rows shown).
    """
    if start is None or end is None:
        default_start, default_end = last_months(12)
        start, end = start or default_start, end or default_end
    pillars = list(Pillar.objects.order_by("order").values_list("id", "code"))
    partners = Partner.objects.order_by("name")
    if partner_code is not None:
        partners = partners.filter(code=partner_code)
    else:
        partners = partners.filter(active=True)
        if kind:
            partners = partners.filter(kind=kind)
        if region:
            partners = partners.filter(region=region)
    partners = list(partners.values_list("id", "code", "name"))

    row_kind, group_kind = ("rollup", "rollup-group") if rollup else ("partner", "group")
    counts = summaries.read(user, [row_kind, group_kind], start, end, status)
    group = summaries.group_name(kind, region)

    def cell(kind_, ref, pillar_id):
        return counts.get((kind_, str(ref), pillar_id), (0, None))

    rows = []
    for partner_id, code, name in partners:
        row_cells = {}
        for pillar_id, pillar_code in pillars:
            count, last = cell(row_kind, partner_id, pillar_id)
            row_cells[pillar_code] = {"count": count, "last": last}
        rows.append(
            {
                "partner": code,
                "name": name,
                "cells": row_cells,
                "total": cell(row_kind, partner_id, 0)[0],
            }
        )
    shown = {str(partner_id) for partner_id, _, _ in partners}
    if partner_code is not None:  # the totals of one row are the row's own
        totals = {code: rows[0]["cells"][code]["count"] if rows else 0 for _, code in pillars}
        total = rows[0]["total"] if rows else 0
    else:
        totals = {code: cell(group_kind, group, pk)[0] for pk, code in pillars}
        total = cell(group_kind, group, 0)[0]
        shown.add(group)
    return {
        "start": start,
        "end": end,
        "status": status or None,
        "rollup": bool(rollup),
        "kind": kind or None,  # the partner filters, for links to the rows behind a number
        "region": region or None,
        "pillars": [code for _, code in pillars],
        "rows": rows,
        "totals": totals,
        "total": total,
        "max_count": max((c["count"] for row in rows for c in row["cells"].values()), default=0),
        # The rows' and the totals' engagements (a cell's last date is one of them).
        "marking": counts.counted(key for key in counts if key[1] in shown),
    }


# Trend -------------------------------------------------------------------------------


def period_label(day, interval):
    if interval == "quarter":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    return f"{day.year}-{day.month:02d}"


@cached_report
def trend(user, start=None, end=None, interval="month", status=EngagementStatus.COMPLETED):
    """Distinct engagements per period and pillar, every period of the range included."""
    if start is None or end is None:
        default_start, default_end = last_months(12)
        start, end = start or default_start, end or default_end
    step = interval_months(interval)
    counts = {}
    read = summaries.read(user, ["all"], start, end, status, by_month=True)
    for (_, _, pillar_id, month), (count, _) in read.items():
        period = month.replace(month=month.month - (month.month - 1) % step)
        counts[(period, pillar_id)] = counts.get((period, pillar_id), 0) + count
    pillars = list(Pillar.objects.order_by("order").values_list("id", "code"))
    periods = []
    starts = list(period_starts(start, end, interval))
    for position, first_day in enumerate(starts):
        # The days the period's numbers count (the rows behind them), and whether that is
        # only part of it (a range starting mid-month, the current month up to today).
        following = starts[position + 1] if position + 1 < len(starts) else None
        covered = (max(first_day, start), following - ONE_DAY if following else end)
        periods.append(
            {
                "period": period_label(first_day, interval),
                "counts": {code: counts.get((first_day, pk), 0) for pk, code in pillars},
                "total": counts.get((first_day, 0), 0),
                "start": covered[0],
                "end": covered[1],
                "partial": covered != (first_day, period_last_day(first_day, step)),
            }
        )
    return {
        "start": start,
        "end": end,
        "interval": interval,
        "status": status or None,
        "pillars": [code for _, code in pillars],
        "periods": periods,
        "marking": read.counted(),
    }


# Gaps --------------------------------------------------------------------------------


@cached_report
def gaps(user, months=6, as_of=None, limit=None):
    """Active partner × pillar pairs with no visible completed engagement in the `months`
    months up to and including `as_of`, stalest first ("never" before any date).

    `last` is the newest such engagement's start date on or before `as_of`, or None.
    """
    as_of = as_of or timezone.localdate()
    window_start, _ = last_months(months, as_of)
    read = summaries.read(user, ["partner"], datetime.date.min, as_of, EngagementStatus.COMPLETED)
    pillars = list(Pillar.objects.order_by("order").values_list("id", "code", "name"))
    found = []
    for partner_id, code, name in Partner.objects.filter(active=True).values_list(
        "id", "code", "name"
    ):
        for pillar_id, pillar_code, pillar_name in pillars:
            key = ("partner", str(partner_id), pillar_id)
            last = read.get(key, (0, None))[1]
            if last is None or last < window_start:
                found.append(
                    {
                        "partner": code,
                        "partner_name": name,
                        "pillar": pillar_code,
                        "pillar_name": pillar_name,
                        "last": last,
                        # Of the engagements that set `last` (none: a gap never covered).
                        "marking": read.dated(key),
                    }
                )
    found.sort(key=lambda gap: (gap["last"] or datetime.date.min, gap["partner_name"]))
    found = found[:limit] if limit else found
    return {
        "months": months,
        "as_of": as_of,
        "window_start": window_start,
        "gaps": found,
        "marking": highest_of(found),
    }


# Tip board ---------------------------------------------------------------------------

EVIDENCE_MONTHS = 6
STALE_WARNING_DAYS = 90


@cached_report
def tip_board(user, as_of=None):
    """Each tip's current status with the evidence behind it, and two contradictions:

    - "status without evidence": `on_track`/`achieved` but no completed advancing
      engagement in the last 6 months;
    - "stale warning": `at_risk`/`off_track` with no update for 90 days.

    A row's `marking` is the highest of the engagements it counts; its note is shown within
    the reader's clearance only (`shown_note`).
    """
    as_of = as_of or timezone.localdate()
    year_start, _ = last_months(12, as_of)
    evidence_start, _ = last_months(EVIDENCE_MONTHS, as_of)
    newest = TipStatusUpdate.objects.filter(tip=OuterRef("pk")).order_by("-created_at", "-id")
    tips = list(
        Tip.objects.order_by("number")
        .annotate(current_id=Subquery(newest.values("id")[:1]))
        .prefetch_related("pillars")
    )
    updates = TipStatusUpdate.objects.select_related("created_by").in_bulk(
        [tip.current_id for tip in tips if tip.current_id]
    )

    def advancing(since):
        return summaries.read(user, ["tip"], since, as_of, EngagementStatus.COMPLETED)

    year, half_year = advancing(year_start), advancing(evidence_start)
    last_12_months = {int(ref): count for (_, ref, _), (count, _) in year.items()}
    last_6_months = {int(ref): count for (_, ref, _), (count, _) in half_year.items()}
    board = []
    for tip in tips:
        update = updates.get(tip.current_id)
        status = update.status if update else TipStatus.NOT_STARTED
        note, note_marking = (
            shown_note(user, update.note, update.note_marking) if update else ("", None)
        )
        key = ("tip", str(tip.pk), 0)
        counts = {
            "last_12_months": last_12_months.get(tip.pk, 0),
            "last_6_months": last_6_months.get(tip.pk, 0),
        }
        flags = []
        if status in (TipStatus.ON_TRACK, TipStatus.ACHIEVED) and not counts["last_6_months"]:
            flags.append("status without evidence")
        if (
            status in (TipStatus.AT_RISK, TipStatus.OFF_TRACK)
            and (as_of - timezone.localdate(update.created_at)).days >= STALE_WARNING_DAYS
        ):
            flags.append("stale warning")
        board.append(
            {
                "number": tip.number,
                "code": tip.code,
                "title": tip.title,
                "pillars": [pillar.code for pillar in tip.pillars.all()],
                "status": status,
                "status_label": TipStatus(status).label,
                "note": note,
                "note_marking": note_marking,
                "set_at": update.created_at if update else None,
                "set_by": update.created_by.username if update and update.created_by else None,
                "engagements_12_months": counts["last_12_months"],
                "engagements_6_months": counts["last_6_months"],
                # The periods those counts cover, for links to their rows.
                "start_12_months": year_start,
                "start_6_months": evidence_start,
                "as_of": as_of,
                "flags": flags,
                "marking": Marking.highest([year.counted([key]), half_year.counted([key])]),
            }
        )
    return board


# Roadmap counts ----------------------------------------------------------------------


@cached_report
def roadmap_counts(user, months=12, as_of=None, status=EngagementStatus.COMPLETED):
    """Distinct engagements per pillar and per facet over the last `months` months."""
    start, end = last_months(months, as_of)
    counts = summaries.read(user, ["all", "facet"], start, end, status)
    pillar_codes = dict(Pillar.objects.values_list("id", "code"))
    facet_codes = {str(pk): code for pk, code in Facet.objects.values_list("id", "code")}
    pillars = {
        pillar_codes[pillar]: count
        for (kind, _, pillar), (count, _) in counts.items()
        if kind == "all" and pillar
    }
    facets = {
        facet_codes[ref]: count for (kind, ref, _), (count, _) in counts.items() if kind == "facet"
    }
    marking = counts.counted()
    return {"start": start, "end": end, "pillars": pillars, "facets": facets, "marking": marking}


# Engagement plan: targets ------------------------------------------------------------


STATUS_ORDER = {status: rank for rank, status in enumerate(TargetStatus.values)}


def plan(user, as_of=None, partner_code=None):
    """Each active target (or those of one partner) measured on `as_of` (default today).

    For a target of `months` months: `done` counts the visible completed engagements with
    its partner and pillar starting in the `months` months up to and including `as_of`
    (the window of `gaps`); `planned` the visible planned ones starting after `as_of` and
    no later than `as_of` + `months` months; `last` is the newest start date of a visible
    completed one on or before `as_of`. `status`: `met` if done ≥ minimum, else `planned`
    if done + planned ≥ minimum, else `behind`. Ordered behind, planned, met, then partner
    code and pillar order. Five queries at most, whatever the number of targets.
    """
    as_of = as_of or timezone.localdate()
    targets = Target.objects.filter(active=True).select_related("partner", "pillar")
    if partner_code is not None:
        targets = targets.filter(partner__code=partner_code)
    targets = list(targets.order_by())
    windows = {}
    for target in targets:
        since = last_months(target.months, as_of)[0]
        until = months_after(as_of, target.months)
        target.window = (since, until)
        ref, pillar = target.partner_id, target.pillar_id
        windows[(target.pk, "done")] = (ref, pillar, EngagementStatus.COMPLETED, since, as_of)
        if until > as_of:
            after = as_of + datetime.timedelta(days=1)
            windows[(target.pk, "planned")] = (ref, pillar, EngagementStatus.PLANNED, after, until)
    counts = summaries.read_windows(user, "partner", windows) if windows else None
    newest = None
    if targets:
        newest = summaries.read(
            user, ["partner"], datetime.date.min, as_of, EngagementStatus.COMPLETED
        )

    rows = []
    for target in targets:
        key = ("partner", str(target.partner_id), target.pillar_id)
        done = counts[(target.pk, "done")]
        planned = counts.get((target.pk, "planned"), 0)
        if done >= target.minimum:
            status = TargetStatus.MET
        elif done + planned >= target.minimum:
            status = TargetStatus.PLANNED
        else:
            status = TargetStatus.BEHIND
        note, note_marking = shown_note(user, target.note, target.note_marking)
        rows.append(
            {
                "target": target.pk,
                "partner": target.partner.code,
                "pillar": target.pillar.code,
                "minimum": target.minimum,
                "months": target.months,
                "done": done,
                "planned": planned,
                "last": newest.get(key, (0, None))[1],
                "status": status.value,
                "partner_name": target.partner.name,
                "pillar_name": target.pillar.name,
                "pillar_order": target.pillar.order,
                "since": target.window[0],
                "until": target.window[1],
                "note": note,
                "note_marking": note_marking,
                # What the numbers draw on: the engagements counted, and those of `last`.
                "marking": Marking.highest(
                    [
                        counts.markings[(target.pk, "done")],
                        counts.markings.get((target.pk, "planned"), Marking.NU),
                        newest.dated(key),
                    ]
                ),
            }
        )
    rows.sort(key=lambda row: (STATUS_ORDER[row["status"]], row["partner"], row["pillar_order"]))
    return {"as_of": as_of, "targets": rows, "marking": highest_of(rows)}


# Escalation review -------------------------------------------------------------------


def risks(user, start_after=None, start_before=None, unreviewed=False):
    """Visible planned engagements of high escalation risk, soonest first, each with its
    review (the newest current decision, or None: it needs one). `start_after` and
    `start_before` keep those starting in that inclusive range; `unreviewed` only those
    without a review. Two queries."""
    engagements = (
        Engagement.objects.restrict(user)
        .high_risk_plans()
        .annotate(review=Review.objects.newest_decision())
        .prefetch_related(
            Prefetch(
                "partner_links",
                queryset=EngagementPartner.objects.select_related("partner").order_by("id"),
            )
        )
        .order_by("start_date", "id")
    )
    if start_after is not None:
        engagements = engagements.filter(start_date__gte=start_after)
    if start_before is not None:
        engagements = engagements.filter(start_date__lte=start_before)
    if unreviewed:
        engagements = engagements.filter(review__isnull=True)
    return [
        {
            "engagement": engagement.pk,
            "title": engagement.title,
            "start_date": engagement.start_date,
            "partners": [link.partner.code for link in engagement.partner_links.all()],
            "partner_names": [link.partner.name for link in engagement.partner_links.all()],
            "review": engagement.review,
            "marking": engagement.marking,
        }
        for engagement in engagements
    ]
