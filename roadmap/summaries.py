"""Report summaries kept exact on every write, so that a report reads summaries, not rows.

Counting a year of engagements from the engagement tables takes seconds at a million
rows, however clever the query; adding up summaries takes milliseconds. A summary row
(`ReportSummary`) holds, for one day or one month (`span`), one status and one marking,
how many engagements count under one *dimension* (kind, ref, pillar) and the newest start
date among them:

- `partner` (ref: partner id): engagements that include the partner (coverage cells and
  row totals, gaps);
- `rollup` (partner id): that include it or a state that was its member on the start date;
- `group` (group name): with at least one active partner in the group (coverage totals);
- `rollup-group` (group name): the same over rolled-up rows;
- `all` (""): every engagement (trend, roadmap counts);
- `tip`, `facet` (tip or facet id, pillar 0): that advance the tip, touch the facet.

Pillar 0 means "whatever its pillars": each engagement counts once there, so totals are
distinct counts. Groups are `active`, `kind:<kind>`, `region:<region>` and
`kind:<kind>/region:<region>`, the partner filters of the coverage report.

Keeping them exact: the one write service calls `refresh_slices()` in the transaction
that writes an engagement, for the (day, status, marking) slices the engagement left and
entered; each is recomputed from the engagement tables (a few dozen engagements at a
million), and its month's rows are added up again from its days, under a lock on the
month, so concurrent writers take turns and each sees the other. Partner and membership
changes, which move engagements between rows and groups, add the difference they make to
the summaries of those engagements (`regroup()`); `seed_demo` recomputes every month
(`rebuild()`). `manage.py check_summaries` recomputes everything and reports differences.

Reading (`read()`): a period's whole months come from the month rows and the days of its
partial months from the day rows: at most two queries, whatever the number of engagements.
"""

import contextlib
import contextvars
import datetime
from collections import defaultdict

from django.db import connection, transaction
from django.db.models import F, Max, Min, Q, Sum, Value
from django.db.models.functions import TruncMonth

from accounts.models import visible_markings
from core.db import local_settings
from core.periods import ONE_DAY, month_of, months_between, next_month, previous_month
from engagements.models import Engagement, EngagementPartner
from partners.models import Membership, Partner
from roadmap.models import ReportStamp, ReportSummary, SummaryMonth

DAY, MONTH = ReportSummary.DAY, ReportSummary.MONTH


def group_names(kind, region):
    return ("active", f"kind:{kind}", f"region:{region}", f"kind:{kind}/region:{region}")


def group_name(kind=None, region=None):
    """The group whose totals a coverage report with these partner filters shows."""
    if kind and region:
        return f"kind:{kind}/region:{region}"
    if kind:
        return f"kind:{kind}"
    if region:
        return f"region:{region}"
    return "active"


# Counting ------------------------------------------------------------------------------


class Directory:
    """What counting needs to know of partners: their attributes and memberships."""

    def __init__(self):
        self.partners = {
            pk: (active, kind, region)
            for pk, active, kind, region in Partner.objects.values_list(
                "id", "active", "kind", "region"
            )
        }
        self.memberships = defaultdict(list)
        for member, organization, joined, left in Membership.objects.values_list(
            "member_id", "organization_id", "joined", "left"
        ):
            self.memberships[member].append((organization, joined, left))

    def rolled_up(self, partner_ids, day):
        """The partners and every organization one of them belonged to on `day`."""
        rows = set(partner_ids)
        for partner in partner_ids:
            for organization, joined, left in self.memberships.get(partner, ()):
                if joined <= day and (left is None or left > day):
                    rows.add(organization)
        return rows

    def groups(self, rows):
        names = set()
        for row in rows:
            active, kind, region = self.partners[row]
            if active:
                names.update(group_names(kind, region))
        return names


def load(engagements):
    """Everything `tally()` needs of the engagements of a queryset, in one query for the
    engagements and one per relation:
    [(start_date, status, marking, partners, pillars, tips, facets)]."""
    ids = engagements.order_by().values("id")
    related = {}
    for name, model, column in [
        ("partners", EngagementPartner, "partner_id"),
        ("pillars", Engagement.pillars.through, "pillar_id"),
        ("tips", Engagement.tips.through, "tip_id"),
        ("facets", Engagement.facets.through, "facet_id"),
    ]:
        grouped = related[name] = defaultdict(list)
        # No ORDER BY: the links' default ordering would sort a join for nothing.
        pairs = model.objects.filter(engagement_id__in=ids).order_by()
        for engagement_id, target in pairs.values_list("engagement_id", column):
            grouped[engagement_id].append(target)
    empty = ()
    return [
        (
            start_date,
            status,
            marking,
            related["partners"].get(pk, empty),
            related["pillars"].get(pk, empty),
            related["tips"].get(pk, empty),
            related["facets"].get(pk, empty),
        )
        for pk, start_date, status, marking in engagements.order_by().values_list(
            "id", "start_date", "status", "marking"
        )
    ]


def tally(loaded, directory):
    """{(kind, ref, pillar, day, status, marking): [count, last]} for loaded engagements:
    every bucket of the kinds listed at the top of this module, per day."""
    buckets = {}
    for start_date, status, marking, partners, pillars, tips, facets in loaded:
        rolled = directory.rolled_up(partners, start_date)
        # Each engagement's rows and groups once; then one bucket per dimension.
        per_pillar = [
            *(("partner", str(row)) for row in partners),
            *(("rollup", str(row)) for row in rolled),
            *(("group", name) for name in directory.groups(partners)),
            *(("rollup-group", name) for name in directory.groups(rolled)),
            ("all", ""),
        ]
        dimensions = [(kind, ref, pillar) for pillar in (*pillars, 0) for kind, ref in per_pillar]
        dimensions += [("tip", str(tip), 0) for tip in tips]
        dimensions += [("facet", str(facet), 0) for facet in facets]
        for dimension in dimensions:
            key = (*dimension, start_date, status, marking)
            bucket = buckets.get(key)
            if bucket is None:
                buckets[key] = [1, start_date]
            else:
                bucket[0] += 1
                if start_date > bucket[1]:
                    bucket[1] = start_date
    return buckets


def by_span(daily):
    """Day buckets and the month buckets they add up to, keyed (span, kind, ref, pillar,
    first day, status, marking)."""
    spans = {}
    for (kind, ref, pillar, day, status, marking), (count, last) in daily.items():
        spans[(DAY, kind, ref, pillar, day, status, marking)] = [count, last]
        month = spans.setdefault(
            (MONTH, kind, ref, pillar, month_of(day), status, marking), [0, last]
        )
        month[0] += count
        month[1] = max(month[1], last)
    return spans


# Keeping them exact --------------------------------------------------------------------


# Rows of ReportStamp. DATA grows with everything a report counts. DIRECTORY grows only
# with the names and options pages draw from the partner directory and the roadmap
# (partners, pillars, facets, tips): what depends on those alone (the engagement list's
# filter panel and its rows, cached at their versions) stays cached while engagements are
# written.
DATA_STAMP, DIRECTORY_STAMP = 1, 2


def bump_stamp(row=DATA_STAMP):
    """Inside the writing transaction: what was cached under the stamp is stale once it
    commits."""
    updated = ReportStamp.objects.filter(pk=row).update(value=F("value") + 1)
    if not updated:
        ReportStamp.objects.bulk_create([ReportStamp(pk=row, value=1)], ignore_conflicts=True)


def stamp():
    return ReportStamp.objects.filter(pk=DATA_STAMP).values_list("value", flat=True).first() or 0


def stamps():
    """(the data stamp, the directory stamp), in one query."""
    values = dict(
        ReportStamp.objects.filter(pk__in=[DATA_STAMP, DIRECTORY_STAMP]).values_list("pk", "value")
    )
    return values.get(DATA_STAMP, 0), values.get(DIRECTORY_STAMP, 0)


def _lock_months(months):
    """Lock the months' rows (made if missing), in order, so writers never deadlock."""
    months = sorted(set(months))
    SummaryMonth.objects.bulk_create(
        [SummaryMonth(month=month) for month in months], ignore_conflicts=True
    )
    list(SummaryMonth.objects.select_for_update().filter(month__in=months).order_by("month"))


# The slices that writes inside `deferred_refresh()` leave to be refreshed at its end.
_deferred = contextvars.ContextVar("deferred_slices", default=None)


@contextlib.contextmanager
def deferred_refresh(apply=True):
    """Writes inside the block (in one transaction with it) refresh their slices once, at
    its end, together; or never, with `apply` false, when the caller rolls them back (the
    import's preview). An import of a thousand rows refreshes each slice once instead of
    once per row. Nothing is refreshed if the block marked its transaction for rollback."""
    pending = set()
    token = _deferred.set(pending)
    try:
        yield
    finally:
        _deferred.reset(token)
    if apply and not transaction.get_rollback():  # a block that gave up stores nothing
        refresh_slices(pending)


def refresh_slices(slices):
    """Recompute the summaries of these (day, status, marking) slices from the engagement
    tables, and their months' totals from the days. Call it inside the transaction that
    wrote the engagements."""
    slices = set(slices)
    if not slices:
        return
    pending = _deferred.get()
    if pending is not None:
        pending.update(slices)
        return
    with transaction.atomic():
        bump_stamp()
        _lock_months(month_of(day) for day, _, _ in slices)
        directory = Directory()
        for day, status, marking in sorted(slices):
            engagements = Engagement.objects.filter(start_date=day, status=status, marking=marking)
            ReportSummary.objects.filter(
                span=DAY, start=day, status=status, marking=marking
            ).delete()
            daily = tally(load(engagements), directory)
            _store({(DAY, *key): value for key, value in daily.items()})
        for month, status, marking in {(month_of(d), s, m) for d, s, m in slices}:
            _add_up_month(month, status, marking)


def _add_up_month(month, status, marking):
    """A month's summaries of one status and marking: the sum of its days'."""
    ReportSummary.objects.filter(span=MONTH, start=month, status=status, marking=marking).delete()
    days = ReportSummary.objects.filter(
        span=DAY,
        start__gte=month,
        start__lt=next_month(month) or datetime.date.max,
        status=status,
        marking=marking,
    )
    sums = days.values("kind", "ref", "pillar").annotate(n=Sum("count"), newest=Max("last"))
    _store(
        {
            (MONTH, row["kind"], row["ref"], row["pillar"], month, status, marking): (
                row["n"],
                _as_date(row["newest"]),
            )
            for row in sums.order_by()
        }
    )


def rebuild(start=None, end=None):
    """Recompute every summary of the months from `start` to `end` (default: all of them),
    a year of engagements at a time. For changes that move many engagements at once:
    partners, memberships, bulk loads."""
    with transaction.atomic():
        bump_stamp()
        span = Engagement.objects.aggregate(first=Min("start_date"), last=Max("start_date"))
        if span["first"] is None:
            ReportSummary.objects.all().delete()
            return
        first = month_of(max(start or span["first"], span["first"]))
        last = month_of(min(end or span["last"], span["last"]))
        months = months_between(first, last)
        _lock_months(months)
        stale = ReportSummary.objects.all()
        if start is not None or end is not None:
            after = next_month(last)
            stale = stale.filter(start__gte=first, **({"start__lt": after} if after else {}))
        stale.delete()
        with local_settings(connection, REBUILD_SETTINGS):
            for month in months:  # a month of engagements at a time: its groups fit in memory
                _insert_days(month, next_month(month))
            _insert_months(months[0], next_month(months[-1]))
        analyze(ReportSummary)


def analyze(*models):
    """Gather the planner's statistics of tables just filled or rewritten in bulk. Without
    them PostgreSQL plans for the tables as they were: after a rebuild it took the 1.9
    million summary rows of 100,000 engagements for 3,600 and hashed the whole table to
    apply a partner change. Outside a transaction (`seed_demo`), PostgreSQL also vacuums
    them: a trigram index's pending entries (a bulk load leaves megabytes of them, read
    on every search: 7.6 ms for a word found nowhere instead of 0.2) go into the index,
    and index-only scans stop visiting the table. Autovacuum does both later, where it
    runs (it is off on some machines). Seconds at a million engagements."""
    vacuum = connection.vendor == "postgresql" and not connection.in_atomic_block
    with connection.cursor() as cursor:
        for model in models:
            table = connection.ops.quote_name(model._meta.db_table)
            cursor.execute(f"{'VACUUM ' if vacuum else ''}ANALYZE {table}")


# PostgreSQL, for the rebuild's INSERTs: group in memory (hash aggregates) rather than sort
# 1.4 million text keys a month at a million engagements (10 s a month instead of 26 s,
# under load), and no JIT (seconds of compiling per statement for nothing).
REBUILD_SETTINGS = {"work_mem": "64MB", "enable_sort": "off", "jit": "off"}


# The rebuild counts in SQL, one INSERT … SELECT … GROUP BY for the days (every kind at
# once) and one for their months: the same buckets as `tally()` and `by_span()`, which
# `check_summaries` compares them with. Portable SQL (PostgreSQL and SQLite).
DAYS_SQL = """
WITH eng AS (
    SELECT id, start_date, status, marking FROM {engagement} WHERE {within}
), links AS (
    SELECT l.engagement_id, l.partner_id, eng.start_date FROM {link} l
    JOIN eng ON eng.id = l.engagement_id
), {directory}, dims AS (
    SELECT engagement_id, 'partner' AS kind, CAST(partner_id AS TEXT) AS ref FROM links
    UNION ALL
    SELECT engagement_id, 'rollup', CAST(partner_id AS TEXT) FROM rolled
    UNION ALL
    SELECT engagement_id, kind, name FROM groups
    UNION ALL
    SELECT id, 'all', '' FROM eng
), pillars AS (
    SELECT l.engagement_id, l.pillar_id AS pillar FROM {pillar_link} l
    JOIN eng ON eng.id = l.engagement_id
    UNION ALL
    SELECT id, 0 FROM eng
), buckets AS (
    SELECT d.kind, d.ref, pillars.pillar, eng.start_date, eng.status, eng.marking
    FROM dims d
    JOIN pillars ON pillars.engagement_id = d.engagement_id
    JOIN eng ON eng.id = d.engagement_id
    UNION ALL
    SELECT 'tip', CAST(l.tip_id AS TEXT), 0, eng.start_date, eng.status, eng.marking
    FROM {tip_link} l JOIN eng ON eng.id = l.engagement_id
    UNION ALL
    SELECT 'facet', CAST(l.facet_id AS TEXT), 0, eng.start_date, eng.status, eng.marking
    FROM {facet_link} l JOIN eng ON eng.id = l.engagement_id
)
INSERT INTO {summary} ({columns})
SELECT %s, kind, ref, pillar, start_date, status, marking, COUNT(*), MAX(start_date)
FROM buckets
GROUP BY kind, ref, pillar, start_date, status, marking
"""


# The summaries whose rows depend on partners' attributes (groups of active partners).
GROUP_KINDS = ("group", "rollup-group")


def _directory_sql(partner, membership, suffix="", kinds=GROUP_KINDS, names=None, partners=None):
    """The CTEs that count engagements under a directory (partners' attributes and
    memberships), for the engagements of the CTEs `eng` and `links` (engagement, partner,
    start date): `rolled` (each engagement's partners and the organizations they belonged
    to on its start date), `grouped` and `groups` (the groups of its active partners, plain
    and rolled up). Named with `suffix`, so that one statement can count under two
    directories. To count only what a change moves (`regroup()`): `kinds`, which of
    `group` and `rollup-group` to count; `names`, only these group names; `partners`, only
    the rows and groups of these partner ids (None: every one). Parameters: True
    (active), then the names."""
    left = connection.ops.quote_name("left")

    def only(column, values, quote=False):
        if values is None:
            return ""
        if not values:
            return " AND 1 = 0"
        listed = ", ".join("%s" if quote else str(int(value)) for value in values)
        return f" AND {column} IN ({listed})"

    counted_links = f"links WHERE 1 = 1{only('partner_id', partners)}"
    sources = {"group": counted_links, "rollup-group": f"rolled{suffix}"}
    grouped = (
        " UNION ALL ".join(
            f"SELECT '{kind}' AS kind, engagement_id, partner_id FROM {sources[kind]}"
            for kind in GROUP_KINDS
            if kind in kinds
        )
        or "SELECT 'group' AS kind, engagement_id, partner_id FROM links WHERE 1 = 0"
    )
    return f"""rolled{suffix} AS (
    SELECT engagement_id, partner_id FROM {counted_links}
    UNION
    SELECT links.engagement_id, m.organization_id
    FROM links
    JOIN {membership} m ON m.member_id = links.partner_id
    WHERE m.joined <= links.start_date
        AND (m.{left} IS NULL OR m.{left} > links.start_date){only("m.organization_id", partners)}
), grouped{suffix} AS (
    SELECT x.kind, x.engagement_id, p.kind AS partner_kind, p.region
    FROM ({grouped}) x
    JOIN {partner} p ON p.id = x.partner_id AND p.active = %s
), groups{suffix} AS (
    SELECT kind, engagement_id, name FROM (
        SELECT kind, engagement_id, 'active' AS name FROM grouped{suffix}
        UNION
        SELECT kind, engagement_id, 'kind:' || partner_kind FROM grouped{suffix}
        UNION
        SELECT kind, engagement_id, 'region:' || region FROM grouped{suffix}
        UNION
        SELECT kind, engagement_id, 'kind:' || partner_kind || '/region:' || region
        FROM grouped{suffix}
    ) named{suffix} WHERE 1 = 1{only("name", names, quote=True)}
)"""


def _store(buckets):
    ReportSummary.objects.bulk_create(
        [
            ReportSummary(
                span=span,
                kind=kind,
                ref=ref,
                pillar=pillar,
                start=first_day,
                status=status,
                marking=marking,
                count=count,
                last=last,
            )
            for (span, kind, ref, pillar, first_day, status, marking), (count, last) in (
                buckets.items()
            )
        ],
        batch_size=2000,
    )


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
    span took minutes at a million engagements, too long for a request.

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
                        now=_directory_sql(
                            partner_table,
                            memberships_now,
                            "_now",
                            partners=counted_now,
                            **directory,
                        ),
                        before=_directory_sql(
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


def compute_all():
    """Every summary bucket as the engagement tables give it now (for check_summaries)."""
    return by_span(tally(load(Engagement.objects.all()), Directory()))


def stored_all():
    return {
        (span, kind, ref, pillar, first_day, status, marking): [count, last]
        for span, kind, ref, pillar, first_day, status, marking, count, last in (
            ReportSummary.objects.values_list(
                "span", "kind", "ref", "pillar", "start", "status", "marking", "count", "last"
            )
        )
    }


# Reading ---------------------------------------------------------------------------------


def read(user, kinds, start, end, status=None, by_month=False):
    """{(kind, ref, pillar[, month]): (count, last)} over the engagements visible to `user`
    with `status` (one, a list, or None for any) starting in [start, end].

    Whole months come from the month summaries, the days of partial months at either end
    from the day summaries: two queries at most, whatever the number of engagements. A
    reader adds up the markings its clearance allows.
    """
    statuses = [status] if isinstance(status, str) else list(status or [])
    ranges = pieces(start, end)
    result = {}
    for span in (MONTH, DAY):
        within = Q()
        for row_span, low, high in ranges:
            if row_span == span:
                within |= Q(start__gte=low, start__lte=high)
        if not within:
            continue
        rows = ReportSummary.objects.filter(
            within, span=span, kind__in=kinds, marking__in=visible_markings(user)
        )
        if statuses:
            rows = rows.filter(status__in=statuses)
        columns = ["kind", "ref", "pillar", *(["start"] if by_month else [])]
        for row in rows.values(*columns).annotate(n=Sum("count"), newest=Max("last")).order_by():
            key = (row["kind"], row["ref"], row["pillar"])
            if by_month:
                key += (month_of(_as_date(row["start"])),)
            count, last = result.get(key, (0, None))
            newest = _as_date(row["newest"])
            result[key] = (count + row["n"], newest if last is None else max(last, newest))
    return result


def read_windows(user, kind, windows):
    """{key: count} of the engagements visible to `user` under one dimension, each window
    its own: `windows` maps a key to (ref, pillar, status, first day, last day).

    The windows' whole months come from one query of month rows, their partial months'
    days from one query of day rows: two queries however many windows there are.
    """
    wanted = {span: set() for span in (MONTH, DAY)}  # (first, last) ranges per span
    for *_, start, end in windows.values():
        for span, low, high in pieces(start, end):
            wanted[span].add((low, high))
    refs = {str(ref) for ref, *_ in windows.values()}
    pillars = {pillar for _, pillar, *_ in windows.values()}
    statuses = {status for _, _, status, *_ in windows.values()}
    found = defaultdict(list)  # (span, ref, pillar, status) -> [(first day, count)]
    for span, ranges in wanted.items():
        if not ranges:
            continue
        within = Q()
        for low, high in ranges:
            within |= Q(start__gte=low, start__lte=high)
        rows = ReportSummary.objects.filter(
            within,
            span=span,
            kind=kind,
            ref__in=refs,
            pillar__in=pillars,
            status__in=statuses,
            marking__in=visible_markings(user),
        )
        sums = rows.values("ref", "pillar", "status", "start").annotate(n=Sum("count"))
        for row in sums.order_by():
            key = (span, row["ref"], row["pillar"], row["status"])
            found[key].append((_as_date(row["start"]), row["n"]))
    counts = {}
    for key, (ref, pillar, status, start, end) in windows.items():
        counts[key] = sum(
            count
            for span, low, high in pieces(start, end)
            for first_day, count in found.get((span, str(ref), pillar, status), ())
            if low <= first_day <= high
        )
    return counts


def pieces(start, end):
    """[(span, first, last)]: the summary rows that add up to [start, end]: its whole
    months as month rows, the days of its partial months at either end as day rows."""
    first_whole = start if start.day == 1 else next_month(start)
    after_end = next_month(end)
    last_whole = month_of(end) if after_end is None or end == after_end - ONE_DAY else None
    if last_whole is None:
        last_whole = previous_month(month_of(end))
    if first_whole is None or last_whole is None or first_whole > last_whole:
        return [(DAY, start, end)]
    ranges = []
    if start < first_whole:
        ranges.append((DAY, start, first_whole - ONE_DAY))
    ranges.append((MONTH, first_whole, last_whole))
    if month_of(end) != last_whole:
        ranges.append((DAY, month_of(end), end))
    return ranges


def _as_date(value):
    # SQLite hands back dates from aggregates as text.
    return datetime.date.fromisoformat(value) if isinstance(value, str) else value


def _insert_days(first, after):
    """The day summaries of the engagements starting in [first, after) (after: None for
    no end), counted by the database."""
    qn = connection.ops.quote_name
    within, params = "start_date >= %s", [first]
    if after is not None:
        within, params = within + " AND start_date < %s", [first, after]
    tables = {
        "engagement": Engagement,
        "link": EngagementPartner,
        "membership": Membership,
        "partner": Partner,
        "pillar_link": Engagement.pillars.through,
        "tip_link": Engagement.tips.through,
        "facet_link": Engagement.facets.through,
        "summary": ReportSummary,
    }
    names = {name: qn(model._meta.db_table) for name, model in tables.items()}
    sql = DAYS_SQL.format(
        within=within,
        directory=_directory_sql(names["partner"], names["membership"]),
        columns=", ".join(qn(name) for name in SUMMARY_COLUMNS),
        **names,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, True, DAY])


SUMMARY_COLUMNS = ["span", "kind", "ref", "pillar", "start", "status", "marking", "count", "last"]


def _insert_months(first, after):
    """The month summaries of [first, after): the sums of their day summaries."""
    days = ReportSummary.objects.filter(span=DAY, start__gte=first)
    if after is not None:
        days = days.filter(start__lt=after)
    sums = (
        days.annotate(month=TruncMonth("start"))
        .values("kind", "ref", "pillar", "month", "status", "marking")
        .annotate(span_name=Value(MONTH), n=Sum("count"), newest=Max("last"))
        .order_by()
    )
    compiler = sums.query.get_compiler(connection=connection)
    select, params = compiler.as_sql()
    # Name the columns in the order the SELECT lists them.
    renamed = {"month": "start", "span_name": "span", "n": "count", "newest": "last"}
    names = [alias or expression.target.column for expression, _, alias in compiler.select]
    qn = connection.ops.quote_name
    columns = ", ".join(qn(renamed.get(name, name)) for name in names)
    table = qn(ReportSummary._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({columns}) {select}", params)
