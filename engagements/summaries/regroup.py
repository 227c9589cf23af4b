"""After a change of partners' attributes or of a membership: the engagements of the
partners concerned move between the rollups and groups they count under (only what the
change can move: `_scope`)."""

from django.db import connection, transaction
from django.db.models import Max, Min

from core.db import local_settings
from core.periods import month_of, months_between
from engagements.models import Engagement, EngagementPartner
from engagements.summaries.rebuild import REBUILD_SETTINGS
from engagements.summaries.refresh import _lock_months
from engagements.summaries.spec import (
    DAY,
    GROUP_KINDS,
    MONTH,
    SUMMARY_COLUMNS,
    directory_sql,
    group_names,
)
from engagements.summaries.stamps import bump_stamp
from partners.models import Membership, Partner
from roadmap.models import ReportSummary


def regroup(partner_ids, partners_before=None, membership_before=None, memberships_also=()):
    """After a change of partners' attributes or of a membership (the change saved, in its
    transaction): move the engagements of `partner_ids` between the rows and groups they
    count under.

    Only three kinds of summary depend on the directory: `rollup`, `group` and
    `rollup-group`, and a change can move only some of them (`_scope`). For the
    engagements of these partners, those are counted under the directory as it was and as
    it is, in one statement, and the difference is added to their day summaries and to
    their months' (`_add_differences`). The work grows with those engagements and the
    groups the change touches, not with the table: a full `rebuild()` of the months they
    span grows with the table, and a large one outlasts a request.

    `partners_before`: {partner id: (active, kind, region)} as they were.
    `membership_before`: (id of the membership as it is now, or None if it was deleted;
    (member id, organization id, joined, left) as it was, or None if it is new).
    `memberships_also`: memberships (as tuples like that) counted as still there before and
    after, though gone from the table: the rest of a batch deleted at once, whose own
    changes are counted one by one as their signals arrive (so that the steps add up).
    """
    partner_ids = sorted(set(partner_ids))
    if not partner_ids:
        return
    qn = connection.ops.quote_name
    partner_table, membership_table = (qn(model._meta.db_table) for model in (Partner, Membership))
    with transaction.atomic():
        bump_stamp()
        kinds, names, counted_now, counted_before = _scope(
            partners_before or {}, membership_before, memberships_also
        )
        if not kinds:
            return
        engagements = Engagement.objects.filter(
            id__in=EngagementPartner.objects.filter(partner_id__in=partner_ids).values(
                "engagement_id"
            )
        )
        span = engagements.aggregate(first=Min("start_date"), last=Max("start_date"))
        if span["first"] is None:
            return
        _lock_months(months_between(month_of(span["first"]), month_of(span["last"])))
        with connection.cursor() as cursor:
            _drop_regroup_tables(cursor)
            cursor.execute(
                f"CREATE TEMPORARY TABLE regroup_partner AS"
                f" SELECT id, active, kind, region FROM {partner_table}"
            )
            for pk, (active, kind, region) in (partners_before or {}).items():
                cursor.execute(
                    "UPDATE regroup_partner SET active = %s, kind = %s, region = %s WHERE id = %s",
                    [active, kind, region, pk],
                )
            left = qn("left")
            memberships_now = membership_table
            for table in ("regroup_membership", "regroup_membership_now"):
                cursor.execute(
                    f"CREATE TEMPORARY TABLE {table} AS"
                    f" SELECT id, member_id, organization_id, joined, {left}"
                    f" FROM {membership_table}"
                )
                for also in memberships_also:
                    _insert_membership(cursor, table, also)
            if memberships_also:
                memberships_now = "regroup_membership_now"
            if membership_before is not None:
                now_id, before = membership_before
                if now_id is not None:
                    cursor.execute("DELETE FROM regroup_membership WHERE id = %s", [now_id])
                if before is not None:
                    _insert_membership(cursor, "regroup_membership", before)
            cursor.execute(
                "CREATE TEMPORARY TABLE regroup_day (kind VARCHAR(20), ref VARCHAR(80),"
                " pillar INTEGER, start DATE, status VARCHAR(20), marking VARCHAR(2),"
                " difference INTEGER)"
            )
            directory = {"kinds": kinds, "names": names}
            changes = []
            if "rollup" in kinds:
                changes += [
                    "SELECT engagement_id, 'rollup' AS kind, CAST(partner_id AS TEXT) AS ref,"
                    f" {sign} AS difference FROM rolled_{when}"
                    for sign, when in ((1, "now"), (-1, "before"))
                ]
            if kinds & set(GROUP_KINDS):
                changes += [
                    f"SELECT engagement_id, kind, name AS ref, {sign} AS difference"
                    f" FROM groups_{when}"
                    for sign, when in ((1, "now"), (-1, "before"))
                ]
            with local_settings(connection, REBUILD_SETTINGS):
                cursor.execute(
                    REGROUP_SQL.format(
                        engagement=qn(Engagement._meta.db_table),
                        link=qn(EngagementPartner._meta.db_table),
                        pillar_link=qn(Engagement.pillars.through._meta.db_table),
                        partners=", ".join(["%s"] * len(partner_ids)),
                        now=directory_sql(
                            partner_table,
                            memberships_now,
                            "_now",
                            partners=counted_now,
                            **directory,
                        ),
                        before=directory_sql(
                            "regroup_partner",
                            "regroup_membership",
                            "_before",
                            partners=counted_before,
                            **directory,
                        ),
                        changes=" UNION ALL ".join(changes),
                    ),
                    [*partner_ids, *[True, *(names or ())] * 2],
                )
            _add_differences(cursor)
            _drop_regroup_tables(cursor)


def _scope(partners_before, membership_before, memberships_also):
    """What a change can move: which of the `rollup`, `group` and `rollup-group`
    summaries, which group names, and the partners whose rows and groups are counted
    under the directory as it is and as it was (ids).

    A partner's attributes decide only which groups its engagements count in, and only
    for the groups it left or joined: a group it is in before and after (or in neither)
    holds the same engagements. A membership decides which organization an engagement
    rolls up into, so the rollups of the organizations concerned and their rolled-up
    groups. Whether an engagement is in one of those groups depends only on its partners
    that are in it, so only those are counted. ASEAN's kind changed moves 4 groups of the
    32 or so, counted over the active partners of the two kinds (2 in the reference data)
    instead of every partner."""
    now = {
        pk: (active, kind, region)
        for pk, active, kind, region in Partner.objects.values_list(
            "id", "active", "kind", "region"
        )
    }
    before = {**now, **partners_before}
    memberships = list(memberships_also)
    if membership_before is not None:
        now_id, stored = membership_before
        if stored is not None:
            memberships.append(stored)
        if now_id is not None:
            memberships += Membership.objects.filter(pk=now_id).values_list(
                "member_id", "organization_id", "joined", "left"
            )
    organizations = {membership[1] for membership in memberships}

    def names_of(active, kind, region):
        return set(group_names(kind, region)) if active else set()

    kinds = set(GROUP_KINDS) if partners_before else set()
    names = set()
    for pk in partners_before:
        names |= names_of(*before[pk]) ^ (names_of(*now[pk]) if pk in now else set())
    if memberships:
        kinds.update(("rollup", "rollup-group"))
        for organization in organizations:
            for directory in (now, before):
                if organization in directory:
                    names |= names_of(*directory[organization])
    if not names:
        kinds -= set(GROUP_KINDS)

    def counted(directory):
        ids = {pk for pk, attributes in directory.items() if names_of(*attributes) & names}
        return sorted(ids | organizations if "rollup" in kinds else ids)

    return kinds, sorted(names), counted(now), counted(before)


# The directory-dependent buckets of the engagements of some partners, counted under the
# directory as it is (`_now`: the tables) and as it was (`_before`: temporary copies with
# the change undone); each bucket's difference, where there is one, into `regroup_day`.
# `changes`: the rollups and groups (of `_scope`) counted +1 now and -1 before.
REGROUP_SQL = """
WITH eng AS (
    SELECT id, start_date, status, marking FROM {engagement}
    WHERE id IN (SELECT engagement_id FROM {link} WHERE partner_id IN ({partners}))
), links AS (
    SELECT l.engagement_id, l.partner_id, eng.start_date FROM {link} l
    JOIN eng ON eng.id = l.engagement_id
), {now}, {before}, differences AS (
    SELECT engagement_id, kind, ref, SUM(difference) AS difference FROM ({changes}) both_directories
    GROUP BY engagement_id, kind, ref
    HAVING SUM(difference) <> 0
), pillars AS (
    SELECT l.engagement_id, l.pillar_id AS pillar FROM {pillar_link} l
    JOIN eng ON eng.id = l.engagement_id
    UNION ALL
    SELECT id, 0 FROM eng
)
INSERT INTO regroup_day (kind, ref, pillar, start, status, marking, difference)
SELECT d.kind, d.ref, pillars.pillar, eng.start_date, eng.status, eng.marking,
    SUM(d.difference)
FROM differences d
JOIN pillars ON pillars.engagement_id = d.engagement_id
JOIN eng ON eng.id = d.engagement_id
GROUP BY d.kind, d.ref, pillars.pillar, eng.start_date, eng.status, eng.marking
"""


def _add_differences(cursor):
    """Add `regroup_day`'s differences to the day summaries, then to their months'
    (`regroup_month`): counts moved, rows made or emptied (and deleted), and each touched
    month's newest start date read again from its days."""
    qn = connection.ops.quote_name
    summary = qn(ReportSummary._meta.db_table)
    month_of_start = (
        "CAST(date_trunc('month', start) AS DATE)"
        if connection.vendor == "postgresql"
        else "date(start, 'start of month')"
    )
    cursor.execute(
        f"CREATE TEMPORARY TABLE regroup_month AS"
        f" SELECT kind, ref, pillar, {month_of_start} AS start, status, marking,"
        f" SUM(difference) AS difference"
        f" FROM regroup_day GROUP BY kind, ref, pillar, {month_of_start}, status, marking"
    )
    cursor.execute("ANALYZE regroup_day")
    cursor.execute("ANALYZE regroup_month")
    same_bucket = " AND ".join(
        f"s.{qn(name)} = d.{qn(name)}"
        for name in ("kind", "ref", "pillar", "start", "status", "marking")
    )
    for span, table in ((DAY, "regroup_day"), (MONTH, "regroup_month")):
        cursor.execute(
            f"UPDATE {summary} AS s SET count = s.count + d.difference FROM {table} d"
            f" WHERE s.span = %s AND {same_bucket}",
            [span],
        )
        cursor.execute(
            f"INSERT INTO {summary} ({', '.join(qn(name) for name in SUMMARY_COLUMNS)})"
            f" SELECT %s, kind, ref, pillar, start, status, marking, difference, start"
            f" FROM {table} d WHERE d.difference > 0 AND NOT EXISTS"
            f" (SELECT 1 FROM {summary} s WHERE s.span = %s AND {same_bucket})",
            [span, span],
        )
        cursor.execute(
            f"DELETE FROM {summary} WHERE id IN (SELECT s.id FROM {table} d"
            f" JOIN {summary} s ON s.span = %s AND {same_bucket} WHERE s.count = 0)",
            [span],
        )
    # A month's newest start date: its newest day with engagements in that bucket.
    next_month_of = (
        "CAST(s.start + INTERVAL '1 month' AS DATE)"
        if connection.vendor == "postgresql"
        else "date(s.start, '+1 month')"
    )
    cursor.execute(
        f"UPDATE {summary} AS s SET last = (SELECT MAX(days.start) FROM {summary} days"
        f" WHERE days.span = %s AND days.kind = s.kind AND days.ref = s.ref"
        f" AND days.pillar = s.pillar AND days.status = s.status"
        f" AND days.marking = s.marking AND days.start >= s.start"
        f" AND days.start < {next_month_of})"
        f" FROM regroup_month d WHERE s.span = %s AND {same_bucket}",
        [DAY, MONTH],
    )


def _insert_membership(cursor, table, membership):
    """(member id, organization id, joined, left) into a temporary copy (id 0: none of the
    copy's rows is looked up by id but the one changed)."""
    cursor.execute(
        f"INSERT INTO {table} (id, member_id, organization_id, joined,"
        f" {connection.ops.quote_name('left')}) VALUES (0, %s, %s, %s, %s)",
        list(membership),
    )


def _drop_regroup_tables(cursor):
    for table in (
        "regroup_partner",
        "regroup_membership",
        "regroup_membership_now",
        "regroup_day",
        "regroup_month",
    ):
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
