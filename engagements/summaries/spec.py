"""What the summaries count: the dimensions (see the package's docstring), the partner
directory they depend on, and counting in Python (`tally`, the oracle the SQL of `rebuild`
and `regroup` is checked against by `check_summaries`)."""

import datetime
from collections import defaultdict

from django.db import connection

from core.periods import month_of
from engagements.models import Engagement, EngagementPartner
from partners.models import Membership, Partner
from roadmap.models import ReportSummary

DAY, MONTH = ReportSummary.DAY, ReportSummary.MONTH

# The dimensions, written here once: each counted per pillar (and for pillar 0, whatever
# the pillars) or once. `tally` counts them in Python; the SQL of `rebuild` counts them from
# the rows each one's statement gives (over the CTEs `eng`, `links`, `rolled`, `groups`
# and the link tables; `check_summaries` compares the two).
PER_PILLAR_SQL = {
    "partner": "SELECT engagement_id, 'partner' AS kind, CAST(partner_id AS TEXT) AS ref"
    " FROM links",
    "rollup": "SELECT engagement_id, 'rollup', CAST(partner_id AS TEXT) FROM rolled",
    "group": "SELECT engagement_id, kind, name FROM groups WHERE kind = 'group'",
    "rollup-group": "SELECT engagement_id, kind, name FROM groups WHERE kind = 'rollup-group'",
    "all": "SELECT id, 'all', '' FROM eng",
}
ONCE_SQL = {
    "tip": "SELECT 'tip', CAST(l.tip_id AS TEXT), 0, eng.start_date, eng.status, eng.marking"
    " FROM {tip_link} l JOIN eng ON eng.id = l.engagement_id",
    "facet": "SELECT 'facet', CAST(l.facet_id AS TEXT), 0, eng.start_date, eng.status,"
    " eng.marking FROM {facet_link} l JOIN eng ON eng.id = l.engagement_id",
}
PER_PILLAR_KINDS, ONCE_KINDS = tuple(PER_PILLAR_SQL), tuple(ONCE_SQL)
# The summaries whose rows depend on partners' attributes (groups of active partners).
GROUP_KINDS = ("group", "rollup-group")


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
        # Each engagement's refs per dimension once; then one bucket per dimension.
        refs = {
            "partner": partners,
            "rollup": rolled,
            "group": directory.groups(partners),
            "rollup-group": directory.groups(rolled),
            "all": [""],
            "tip": tips,
            "facet": facets,
        }
        per_pillar = [(kind, str(ref)) for kind in PER_PILLAR_KINDS for ref in refs[kind]]
        dimensions = [(kind, ref, pillar) for pillar in (*pillars, 0) for kind, ref in per_pillar]
        dimensions += [(kind, str(ref), 0) for kind in ONCE_KINDS for ref in refs[kind]]
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


def directory_sql(partner, membership, suffix="", kinds=GROUP_KINDS, names=None, partners=None):
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


def _as_date(value):
    # SQLite hands back dates from aggregates as text.
    return datetime.date.fromisoformat(value) if isinstance(value, str) else value


SUMMARY_COLUMNS = ["span", "kind", "ref", "pillar", "start", "status", "marking", "count", "last"]


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
