"""Every report number the tracker shows, computed once, here.

Each report is one function that takes the user (visibility goes through
`Engagement.objects.visible_to`) and its filters and returns plain data (dicts, lists,
dates). HTML pages, CSV/XLSX downloads and the API only render these results.

Each function runs a small, fixed number of queries whatever the number of partners or
engagements: the counting happens in the database.
"""

import calendar
import datetime
import functools
import hashlib

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, F, Max, OuterRef, Q, Subquery
from django.db.models.functions import TruncMonth, TruncQuarter
from django.utils import timezone

from accounts.models import visible_markings
from engagements.choices import EngagementStatus
from engagements.models import Engagement, EngagementPartner
from partners.models import Membership, Partner
from roadmap.choices import TipStatus
from roadmap.models import Pillar, Tip, TipStatusUpdate

# Report results are kept for this long at most, per clearance and parameters, and only
# while nothing they depend on has changed (see `data_stamp`).
REPORT_CACHE_SECONDS = 600


def data_stamp():
    """A value that changes whenever an engagement, partner, membership or tip status is
    written through the app (every such write adds a history row, and bulk-seeded
    engagements get new ids). One cheap query: each part is an index lookup."""
    parts = [
        (Engagement.history.model, "history_id"),
        (Engagement, "id"),
        (Partner.history.model, "history_id"),
        (Membership.history.model, "history_id"),
        (TipStatusUpdate.history.model, "history_id"),
    ]
    selects = ", ".join(
        f"(SELECT MAX({column}) FROM {model._meta.db_table})" for model, column in parts
    )
    return _fetch(f"SELECT {selects}", [])[0]


def cached_report(function):
    """Serve a report from the cache while its inputs are unchanged.

    The key holds the markings the caller may see (all that decides visibility), the arguments,
    today's date (default periods move with it) and the data stamp, so a cached number is
    never one that a fresh computation would not give.
    """

    @functools.wraps(function)
    def report(user, *args, **kwargs):
        key_parts = (
            function.__name__,
            tuple(visible_markings(user)),
            args,
            sorted(kwargs.items()),
            timezone.localdate(),
            data_stamp(),
        )
        key = "report:" + hashlib.sha256(repr(key_parts).encode()).hexdigest()
        result = cache.get(key)
        if result is None:
            result = function(user, *args, **kwargs)
            cache.set(key, result, REPORT_CACHE_SECONDS)
        return result

    report.uncached = function
    return report


# The longest period a report covers: longer ones are refused (roadmap/forms.py).
MAX_PERIOD_YEARS = 50


def months_before(day, months):
    """The same day `months` calendar months earlier (clamped to the month's last day)."""
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    if year < datetime.MINYEAR:
        return datetime.date.min
    last_day = calendar.monthrange(year, month + 1)[1]
    return datetime.date(year, month + 1, min(day.day, last_day))


def last_months(months, end=None):
    """The inclusive period of `months` months that ends on `end` (default today).

    Twelve months up to 2025-12-31 are 2025-01-01 … 2025-12-31.
    """
    end = end or timezone.localdate()
    return months_before(end, months) + datetime.timedelta(days=1), end


def _engagements(user, start, end, status):
    """Visible engagements starting in [start, end], with the status (one, or a list of
    several) if one is given."""
    engagements = Engagement.objects.visible_to(user).filter(start_date__range=(start, end))
    if isinstance(status, list | tuple):
        engagements = engagements.filter(status__in=status)
    elif status:
        engagements = engagements.filter(status=status)
    return engagements


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
    partner_codes=None,
):
    """Partners (rows) by pillars (columns): distinct engagements and the last start date.

    Rows are every active partner matching `kind`/`region` (or exactly `partner_codes`),
    including those with nothing, so that gaps show. With `rollup`, an organization's row
    also counts the engagements of the states that were its members on the engagement's
    start date. Row totals, pillar totals and the grand total count distinct engagements.
    """
    if start is None or end is None:
        default_start, default_end = last_months(12)
        start, end = start or default_start, end or default_end
    pillars = list(Pillar.objects.order_by("order").values_list("id", "code"))
    partners = Partner.objects.order_by("name")
    if partner_codes is not None:
        partners = partners.filter(code__in=partner_codes)
    else:
        partners = partners.filter(active=True)
        if kind:
            partners = partners.filter(kind=kind)
        if region:
            partners = partners.filter(region=region)
    partners = list(partners.values_list("id", "code", "name"))

    pairs_sql, params = _row_engagement_pairs(
        _engagements(user, start, end, status), [pk for pk, _, _ in partners], rollup
    )
    cells, row_totals, pillar_totals, grand_total = _coverage_counts(pairs_sql, params)

    cell_map = {(row, pillar): (count, last) for row, pillar, count, last in cells}
    row_total_map = dict(row_totals)
    pillar_total_map = dict(pillar_totals)
    rows = []
    for partner_id, code, name in partners:
        row_cells = {}
        for pillar_id, pillar_code in pillars:
            count, last = cell_map.get((partner_id, pillar_id), (0, None))
            row_cells[pillar_code] = {"count": count, "last": _as_date(last)}
        rows.append(
            {
                "partner": code,
                "name": name,
                "cells": row_cells,
                "total": row_total_map.get(partner_id, 0),
            }
        )
    return {
        "start": start,
        "end": end,
        "status": status or None,
        "rollup": bool(rollup),
        "pillars": [code for _, code in pillars],
        "rows": rows,
        "totals": {code: pillar_total_map.get(pk, 0) for pk, code in pillars},
        "total": grand_total,
        "max_count": max((count for _, _, count, _ in cells), default=0),
    }


_PILLAR_LINKS = Engagement.pillars.through._meta.db_table


def _coverage_counts(pairs_sql, params):
    """Cells (row, pillar → count, last), row totals, pillar totals and the grand total,
    all distinct engagements over the same (row, engagement, pillar) set.

    PostgreSQL computes the four in one pass with GROUPING SETS; SQLite has none, so it
    runs four queries over the same set.
    """
    joined = (
        f"FROM ({pairs_sql}) pairs JOIN {_PILLAR_LINKS} link "
        f"ON link.engagement_id = pairs.engagement_id"
    )
    distinct = "COUNT(DISTINCT pairs.engagement_id)"
    if connection.vendor == "postgresql":
        cells, row_totals, pillar_totals, grand_total = [], [], [], 0
        for row, pillar, count, last, no_row, no_pillar in _fetch(
            f"SELECT pairs.row_id, link.pillar_id, {distinct}, MAX(pairs.start_date), "
            f"GROUPING(pairs.row_id), GROUPING(link.pillar_id) {joined} GROUP BY GROUPING SETS "
            f"((pairs.row_id, link.pillar_id), (pairs.row_id), (link.pillar_id), ())",
            params,
        ):
            if no_row and no_pillar:
                grand_total = count
            elif no_pillar:
                row_totals.append((row, count))
            elif no_row:
                pillar_totals.append((pillar, count))
            else:
                cells.append((row, pillar, count, last))
        return cells, row_totals, pillar_totals, grand_total
    cells = _fetch(
        f"SELECT pairs.row_id, link.pillar_id, {distinct}, MAX(pairs.start_date) {joined} "
        f"GROUP BY pairs.row_id, link.pillar_id",
        params,
    )
    row_totals = _fetch(f"SELECT pairs.row_id, {distinct} {joined} GROUP BY pairs.row_id", params)
    pillar_totals = _fetch(
        f"SELECT link.pillar_id, {distinct} {joined} GROUP BY link.pillar_id", params
    )
    grand_total = _fetch(f"SELECT {distinct} {joined}", params)[0][0]
    return cells, row_totals, pillar_totals, grand_total


def _row_engagement_pairs(engagements, row_ids, rollup):
    """SQL for (row_id, engagement_id, start_date): which engagement counts in which row.

    Built from the ORM's own SQL for the visible engagements, so the marking rule stays in
    `visible_to`. With rollup, member states' engagements are paired with each
    organization they belonged to on the engagement's start date; UNION removes the
    duplicate when an engagement names both the organization and a member.
    """
    # No ORDER BY in a subquery: sorting a year of engagements for nothing costs seconds.
    visible_sql, visible_params = (
        engagements.order_by().values("id", "start_date").query.sql_with_params()
    )
    if not row_ids:
        row_ids = [-1]
    in_rows = ", ".join(["%s"] * len(row_ids))
    links = EngagementPartner._meta.db_table
    direct = (
        f"SELECT link.partner_id AS row_id, visible.id AS engagement_id, visible.start_date "
        f"FROM ({visible_sql}) visible JOIN {links} link ON link.engagement_id = visible.id "
        f"WHERE link.partner_id IN ({in_rows})"
    )
    params = [*visible_params, *row_ids]
    if not rollup:
        return direct, params
    memberships = Membership._meta.db_table
    quote = connection.ops.quote_name
    through_members = (
        f"SELECT m.organization_id AS row_id, visible.id AS engagement_id, visible.start_date "
        f"FROM ({visible_sql}) visible JOIN {links} link ON link.engagement_id = visible.id "
        f"JOIN {memberships} m ON m.member_id = link.partner_id "
        f"WHERE m.organization_id IN ({in_rows}) AND m.joined <= visible.start_date "
        f"AND (m.{quote('left')} IS NULL OR m.{quote('left')} > visible.start_date)"
    )
    return f"{direct} UNION {through_members}", [*params, *visible_params, *row_ids]


def _fetch(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _as_date(value):
    # SQLite hands back MAX() over a date column as text.
    if isinstance(value, str):
        return datetime.date.fromisoformat(value)
    return value


# Trend -------------------------------------------------------------------------------


def period_label(day, interval):
    if interval == "quarter":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    return f"{day.year}-{day.month:02d}"


def period_starts(start, end, interval):
    """The first day of every month (or quarter) that overlaps [start, end], in order."""
    step = 3 if interval == "quarter" else 1
    month = start.month - (start.month - 1) % step
    current = datetime.date(start.year, month, 1)
    while current <= end:
        yield current
        index = current.year * 12 + current.month - 1 + step
        if index // 12 > datetime.MAXYEAR:  # the period just given was the calendar's last
            return
        current = datetime.date(index // 12, index % 12 + 1, 1)


@cached_report
def trend(user, start=None, end=None, interval="month", status=EngagementStatus.COMPLETED):
    """Distinct engagements per period and pillar, every period of the range included."""
    if start is None or end is None:
        default_start, default_end = last_months(12)
        start, end = start or default_start, end or default_end
    truncate = TruncQuarter if interval == "quarter" else TruncMonth
    engagements = _engagements(user, start, end, status).annotate(
        period_start=truncate("start_date")
    )
    per_pillar = engagements.values("period_start", pillar=F("pillars__code")).annotate(
        n=Count("id")  # an engagement appears once per pillar: the link is unique
    )
    per_period = engagements.values("period_start").annotate(n=Count("id"))
    pillars = list(Pillar.objects.order_by("order").values_list("code", flat=True))

    counts = {}
    for row in per_pillar.order_by():
        counts[(_as_date(row["period_start"]), row["pillar"])] = row["n"]
    totals = {_as_date(row["period_start"]): row["n"] for row in per_period.order_by()}
    periods = []
    for first_day in period_starts(start, end, interval):
        periods.append(
            {
                "period": period_label(first_day, interval),
                "counts": {code: counts.get((first_day, code), 0) for code in pillars},
                "total": totals.get(first_day, 0),
            }
        )
    return {
        "start": start,
        "end": end,
        "interval": interval,
        "status": status or None,
        "pillars": pillars,
        "periods": periods,
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
    completed = Engagement.objects.visible_to(user).filter(
        status=EngagementStatus.COMPLETED, start_date__lte=as_of
    )
    last_seen = (
        EngagementPartner.objects.filter(engagement__in=completed, partner__active=True)
        .values("partner_id", pillar_id=F("engagement__pillars"))
        .annotate(last=Max("engagement__start_date"))
        .order_by()
    )
    last_map = {(row["partner_id"], row["pillar_id"]): row["last"] for row in last_seen}
    pillars = list(Pillar.objects.order_by("order").values_list("id", "code", "name"))
    found = []
    for partner_id, code, name in Partner.objects.filter(active=True).values_list(
        "id", "code", "name"
    ):
        for pillar_id, pillar_code, pillar_name in pillars:
            last = _as_date(last_map.get((partner_id, pillar_id)))
            if last is None or last < window_start:
                found.append(
                    {
                        "partner": code,
                        "partner_name": name,
                        "pillar": pillar_code,
                        "pillar_name": pillar_name,
                        "last": last,
                    }
                )
    found.sort(key=lambda gap: (gap["last"] or datetime.date.min, gap["partner_name"]))
    return {
        "months": months,
        "as_of": as_of,
        "window_start": window_start,
        "gaps": found[:limit] if limit else found,
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
    completed = Engagement.objects.visible_to(user).filter(
        status=EngagementStatus.COMPLETED, start_date__range=(year_start, as_of)
    )
    advancing = {
        row["tips"]: row
        for row in completed.filter(tips__isnull=False)
        .values("tips")
        .annotate(
            # one row per (engagement, tip): the link is unique, no DISTINCT needed
            last_12_months=Count("id"),
            last_6_months=Count("id", filter=Q(start_date__gte=evidence_start)),
        )
        .order_by()
    }
    board = []
    for tip in tips:
        update = updates.get(tip.current_id)
        status = update.status if update else TipStatus.NOT_STARTED
        counts = advancing.get(tip.pk, {"last_12_months": 0, "last_6_months": 0})
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
                "note": update.note if update else "",
                "set_at": update.created_at if update else None,
                "set_by": update.created_by.username if update and update.created_by else None,
                "engagements_12_months": counts["last_12_months"],
                "engagements_6_months": counts["last_6_months"],
                "flags": flags,
            }
        )
    return board


# Roadmap counts ----------------------------------------------------------------------


@cached_report
def roadmap_counts(user, months=12, as_of=None, status=EngagementStatus.COMPLETED):
    """Distinct engagements per pillar and per facet over the last `months` months."""
    start, end = last_months(months, as_of)
    engagements = _engagements(user, start, end, status)
    pillars = dict(
        # (engagement, pillar) and (engagement, facet) links are unique: plain counts
        engagements.values_list("pillars__code").annotate(n=Count("id")).order_by()
    )
    facets = dict(
        engagements.filter(facets__isnull=False)
        .values_list("facets__code")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {"start": start, "end": end, "pillars": pillars, "facets": facets}
