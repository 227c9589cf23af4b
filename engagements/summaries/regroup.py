"""After a change of partners' attributes or of a membership: the summaries that depend
on the partner directory (`rollup`, `group`, `rollup-group`), only those the change can
move (`scope`), counted again under the directory as it is, a month at a time, in a
background job (engagements/tasks.py).

Counted again, not moved by a difference: the result depends only on the tables when each
month is counted, so a job run twice (a worker lost half-way), two changes applied in
either order, or an engagement written meanwhile (its slices refreshed by the write
service) all leave the same, exact summaries."""

import datetime

from django.db import connection, transaction
from django.db.models import Max, Min, Q, Sum

from core.db import local_settings
from core.periods import month_of, months_between, next_month
from engagements.models import Engagement, EngagementPartner
from engagements.summaries.rebuild import REBUILD_SETTINGS
from engagements.summaries.refresh import _lock_months
from engagements.summaries.spec import (
    DAY,
    GROUP_KINDS,
    MONTH,
    SUMMARY_COLUMNS,
    _as_date,
    _store,
    directory_sql,
    group_names,
)
from engagements.summaries.stamps import bump_stamp
from partners.models import Membership, Partner
from roadmap.models import ReportSummary


def _names_of(active, kind, region):
    return set(group_names(kind, region)) if active else set()


def _partners():
    return {
        pk: (active, kind, region)
        for pk, active, kind, region in Partner.objects.values_list(
            "id", "active", "kind", "region"
        )
    }


def scope(partners_before=None, memberships=()):
    """What a change can move, as JSON for a job: which of the `rollup`, `group` and
    `rollup-group` summaries (`kinds`), which group names (`names`), which organizations'
    rollups (`organizations`). Called once the change is saved.

    `partners_before`: {partner id: (active, kind, region)} as they were.
    `memberships`: the memberships concerned, as they were and as they are: (member id,
    organization id, joined, left).

    A partner's attributes decide only which groups its engagements count in, and only
    for the groups it left or joined: a group it is in before and after (or in neither)
    holds the same engagements. A membership decides which organization an engagement
    rolls up into, so the rollups of the organizations concerned and their rolled-up
    groups."""
    partners_before = partners_before or {}
    now = _partners()
    before = {**now, **partners_before}
    organizations = {membership[1] for membership in memberships}
    kinds = set(GROUP_KINDS) if partners_before else set()
    names = set()
    for pk in partners_before:
        names |= _names_of(*before[pk]) ^ (_names_of(*now[pk]) if pk in now else set())
    if memberships:
        kinds.update(("rollup", "rollup-group"))
        for organization in organizations:
            for directory in (now, before):
                if organization in directory:
                    names |= _names_of(*directory[organization])
    if not names:
        kinds -= set(GROUP_KINDS)
    return {"kinds": sorted(kinds), "names": sorted(names), "organizations": sorted(organizations)}


def regroup(partner_ids, kinds, names, organizations, step=None):
    """Count again the summaries of `scope()` in every month the engagements of
    `partner_ids` span (the partners whose engagements the change moved), a month per
    transaction, under a lock on the month (as writes take it). `step(done, total)` after
    each month. Returns {"months": how many were counted}.

    The work grows with the engagements of those months, not with the partners': the
    `active` group of a month holds nearly all of its engagements."""
    partner_ids, kinds, names = sorted(set(partner_ids)), set(kinds), sorted(set(names))
    if not kinds or not partner_ids:
        return {"months": 0}
    span = Engagement.objects.filter(
        id__in=EngagementPartner.objects.filter(partner_id__in=partner_ids).values("engagement_id")
    ).aggregate(first=Min("start_date"), last=Max("start_date"))
    if span["first"] is None:
        return {"months": 0}
    months = months_between(month_of(span["first"]), month_of(span["last"]))
    for done, month in enumerate(months, start=1):
        _count_month(month, kinds, names, organizations)
        if step is not None:
            step(done, len(months))
    return {"months": len(months)}


def _count_month(month, kinds, names, organizations):
    group_kinds = [kind for kind in GROUP_KINDS if kind in kinds]
    selected = Q()
    if "rollup" in kinds and organizations:
        selected |= Q(kind="rollup", ref__in=[str(pk) for pk in organizations])
    if group_kinds and names:
        selected |= Q(kind__in=group_kinds, ref__in=names)
    if not selected:
        return
    after = next_month(month) or datetime.date.max
    with transaction.atomic():
        bump_stamp()
        _lock_months([month])
        # The partners whose rows and groups are counted, under the directory as it is
        # now (under the lock: a later change waits for this month, or was already seen).
        # Whether an engagement is in a group depends only on its partners in it.
        counted = {
            pk for pk, attributes in _partners().items() if _names_of(*attributes) & set(names)
        }
        if "rollup" in kinds:
            counted |= set(organizations)
        ReportSummary.objects.filter(selected, start__gte=month, start__lt=after).delete()
        _insert_days(month, after, kinds, names, organizations, sorted(counted))
        sums = (
            ReportSummary.objects.filter(selected, span=DAY, start__gte=month, start__lt=after)
            .values("kind", "ref", "pillar", "status", "marking")
            .annotate(n=Sum("count"), newest=Max("last"))
            .order_by()
        )
        _store(
            {
                (
                    MONTH,
                    row["kind"],
                    row["ref"],
                    row["pillar"],
                    month,
                    row["status"],
                    row["marking"],
                ): (
                    row["n"],
                    _as_date(row["newest"]),
                )
                for row in sums
            }
        )


# The directory-dependent buckets of a month's engagements (the CTEs of `directory_sql`),
# only the rollups and groups of a change's scope (`dims`), counted per day.
REGROUP_SQL = """
WITH eng AS (
    SELECT id, start_date, status, marking FROM {engagement}
    WHERE start_date >= %s AND start_date < %s
), links AS (
    SELECT l.engagement_id, l.partner_id, eng.start_date FROM {link} l
    JOIN eng ON eng.id = l.engagement_id
), {directory}, dims AS (
    {dims}
), pillars AS (
    SELECT l.engagement_id, l.pillar_id AS pillar FROM {pillar_link} l
    JOIN eng ON eng.id = l.engagement_id
    UNION ALL
    SELECT id, 0 FROM eng
)
INSERT INTO {summary} ({columns})
SELECT %s, d.kind, d.ref, pillars.pillar, eng.start_date, eng.status, eng.marking,
    COUNT(*), MAX(eng.start_date)
FROM dims d
JOIN pillars ON pillars.engagement_id = d.engagement_id
JOIN eng ON eng.id = d.engagement_id
GROUP BY d.kind, d.ref, pillars.pillar, eng.start_date, eng.status, eng.marking
"""


def _insert_days(month, after, kinds, names, organizations, counted):
    qn = connection.ops.quote_name
    dims = []
    if "rollup" in kinds and organizations:
        listed = ", ".join(str(int(pk)) for pk in organizations)
        dims.append(
            "SELECT engagement_id, 'rollup' AS kind, CAST(partner_id AS TEXT) AS ref"
            f" FROM rolled WHERE partner_id IN ({listed})"
        )
    if set(GROUP_KINDS) & kinds and names:
        dims.append("SELECT engagement_id, kind, name AS ref FROM groups")
    if not dims:
        return
    sql = REGROUP_SQL.format(
        engagement=qn(Engagement._meta.db_table),
        link=qn(EngagementPartner._meta.db_table),
        pillar_link=qn(Engagement.pillars.through._meta.db_table),
        summary=qn(ReportSummary._meta.db_table),
        columns=", ".join(qn(name) for name in SUMMARY_COLUMNS),
        directory=directory_sql(
            qn(Partner._meta.db_table),
            qn(Membership._meta.db_table),
            kinds=kinds,
            names=names,
            partners=counted,
        ),
        dims=" UNION ALL ".join(dims),
    )
    with connection.cursor() as cursor, local_settings(connection, REBUILD_SETTINGS):
        cursor.execute(sql, [month, after, True, *names, DAY])
