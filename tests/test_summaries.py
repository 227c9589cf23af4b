"""The report summaries are exact: after any sequence of writes, every report equals the
straightforward computation over the engagements (written here in plain Python, from the
contract's definitions), and `check_summaries` finds nothing to fix."""

import datetime
import io

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.choices import Marking, Role
from accounts.models import visible_markings
from core.periods import last_months, period_starts
from engagements.models import Engagement
from engagements.services import delete_engagement, restore_engagement, save_engagement
from partners.models import Membership, Partner
from reports import queries as reports
from roadmap.models import Facet, Pillar, ReportSummary, Tip
from tests.factories import make_engagement, make_user

pytestmark = pytest.mark.usefixtures("reference_data")

D = datetime.date
PARTNERS = ["JPN", "IDN", "TLS", "ASEAN", "KOR"]
PILLARS = ["dialogue", "security", "economic", "hadr"]
FACETS = ["dialogue.partnerships", "security.cyber", "hadr.coordination", "economic.trade"]
# Dates around month edges and Timor-Leste's accession to ASEAN (2025-10-26).
DAYS = st.dates(D(2025, 9, 27), D(2025, 11, 4))
PERIODS = [(D(2025, 10, 1), D(2025, 10, 31)), (D(2025, 9, 28), D(2025, 11, 2))]
AS_OF = D(2025, 11, 2)


# The straightforward computation ------------------------------------------------------


def visible(user):
    allowed = visible_markings(user)
    engagements = Engagement.objects.prefetch_related("partners", "pillars", "tips")
    return [
        {
            "start": e.start_date,
            "status": e.status,
            "partners": {p.code for p in e.partners.all()},
            "pillars": {p.code for p in e.pillars.all()},
            "tips": {t.number for t in e.tips.all()},
        }
        for e in engagements
        if e.marking in allowed
    ]


def rows_of(engagement, rollup, memberships):
    """The coverage rows an engagement counts in: its partners and, rolled up, every
    organization one of them belonged to on its start date."""
    rows = set(engagement["partners"])
    if rollup:
        day = engagement["start"]
        for member, organization, joined, left in memberships:
            if member in engagement["partners"] and joined <= day and (left is None or left > day):
                rows.add(organization)
    return rows


def expected_coverage(user, start, end, status, rollup, kind=None):
    listed = {
        p.code: p.name
        for p in Partner.objects.filter(active=True)
        if kind is None or p.kind == kind
    }
    memberships = [
        (m.member.code, m.organization.code, m.joined, m.left)
        for m in Membership.objects.select_related("member", "organization")
    ]
    chosen = [
        e
        for e in visible(user)
        if start <= e["start"] <= end and (status is None or e["status"] == status)
    ]
    cells, totals, union = {}, {pillar: set() for pillar in PILLARS}, set()
    row_totals = {code: 0 for code in listed}
    for index, engagement in enumerate(chosen):
        rows = rows_of(engagement, rollup, memberships) & set(listed)
        for row in rows:
            row_totals[row] += 1
            for pillar in engagement["pillars"]:
                count, last = cells.get((row, pillar), (0, None))
                cells[(row, pillar)] = (
                    count + 1,
                    max(last or engagement["start"], engagement["start"]),
                )
        if rows:
            union.add(index)
            for pillar in engagement["pillars"]:
                totals[pillar].add(index)
    return {
        "rows": {
            code: (
                {
                    pillar: dict(
                        zip(("count", "last"), cells.get((code, pillar), (0, None)), strict=True)
                    )
                    for pillar in PILLARS
                },
                row_totals[code],
            )
            for code in listed
        },
        "totals": {pillar: len(found) for pillar, found in totals.items()},
        "total": len(union),
    }


def expected_trend(user, start, end, status):
    periods = []
    for first in period_starts(start, end, "month"):
        last = (first.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
        inside = [
            e
            for e in visible(user)
            if max(start, first) <= e["start"] < last
            and e["start"] <= end
            and (status is None or e["status"] == status)
        ]
        periods.append(
            {
                "counts": {p: sum(p in e["pillars"] for e in inside) for p in PILLARS},
                "total": len(inside),
            }
        )
    return periods


def expected_gaps(user, months, as_of):
    window_start, _ = last_months(months, as_of)
    completed = [e for e in visible(user) if e["status"] == "completed" and e["start"] <= as_of]
    found = set()
    for code in Partner.objects.filter(active=True).values_list("code", flat=True):
        for pillar in PILLARS:
            dates = [
                e["start"] for e in completed if code in e["partners"] and pillar in e["pillars"]
            ]
            last = max(dates, default=None)
            if last is None or last < window_start:
                found.add((code, pillar, last))
    return found


def expected_tips(user, as_of):
    year_start, _ = last_months(12, as_of)
    half_start, _ = last_months(reports.EVIDENCE_MONTHS, as_of)
    completed = [e for e in visible(user) if e["status"] == "completed" and e["start"] <= as_of]
    return {
        number: (
            sum(number in e["tips"] and e["start"] >= year_start for e in completed),
            sum(number in e["tips"] and e["start"] >= half_start for e in completed),
        )
        for number in range(1, 7)
    }


def assert_reports_match(users):
    cache.clear()
    for user in users:
        for start, end in PERIODS:
            for status, kind in [("completed", None), (None, "state")]:
                for rollup in (False, True):
                    got = reports.coverage(
                        user, start=start, end=end, status=status, rollup=rollup, kind=kind
                    )
                    want = expected_coverage(user, start, end, status, rollup, kind)
                    rows = {r["partner"]: (r["cells"], r["total"]) for r in got["rows"]}
                    assert rows == want["rows"], (start, status, rollup, kind)
                    assert got["totals"] == want["totals"], (start, status, rollup, kind)
                    assert got["total"] == want["total"], (start, status, rollup, kind)
            trend = reports.trend(user, start=start, end=end, status=None)
            assert [
                {"counts": p["counts"], "total": p["total"]} for p in trend["periods"]
            ] == expected_trend(user, start, end, None)
        gaps = reports.gaps(user, months=1, as_of=AS_OF)["gaps"]
        assert {(g["partner"], g["pillar"], g["last"]) for g in gaps} == expected_gaps(
            user, 1, AS_OF
        )
        board = reports.tip_board(user, as_of=AS_OF)
        assert {
            t["number"]: (t["engagements_12_months"], t["engagements_6_months"]) for t in board
        } == expected_tips(user, AS_OF)
    call_command("check_summaries", stdout=io.StringIO())


# Random sequences of writes ------------------------------------------------------------

fields = st.fixed_dictionaries(
    {
        "start_date": DAYS,
        "status": st.sampled_from(["planned", "completed", "cancelled"]),
        "marking": st.sampled_from(["NU", "NS"]),
        "partners": st.lists(st.sampled_from(PARTNERS), min_size=1, max_size=3, unique=True),
        "pillars": st.lists(st.sampled_from(PILLARS), min_size=1, max_size=2, unique=True),
        "tips": st.lists(st.integers(1, 6), max_size=2, unique=True),
    }
)
operations = st.one_of(
    st.tuples(st.just("create"), fields),
    st.tuples(st.just("edit"), st.integers(0, 5), fields.map(lambda f: dict(list(f.items())[:3]))),
    st.tuples(st.just("edit"), st.integers(0, 5), fields),
    st.tuples(st.just("delete"), st.integers(0, 5)),
    st.tuples(st.just("restore"), st.integers(0, 5)),
    st.tuples(st.just("joined"), DAYS),
    st.tuples(st.just("left"), DAYS),
    st.tuples(st.just("deactivate"), st.sampled_from(["IDN", "KOR", "ASEAN"])),
    st.tuples(st.just("region"), st.sampled_from(["oceania", "northeast_asia"])),
)


def as_data(drawn):
    data = dict(drawn)
    for name, model, field in [
        ("partners", Partner, "code"),
        ("pillars", Pillar, "code"),
        ("tips", Tip, "number"),
    ]:
        if name in data:
            found = model.objects.in_bulk(data[name], field_name=field)
            data[name] = [found[key] for key in data[name]]
    if "pillars" in data:  # facets under the chosen pillars only
        data["facets"] = list(Facet.objects.filter(code__in=FACETS, pillar__in=data["pillars"]))
    return data


def apply(operation, writer, made, deleted):
    name, *args = operation
    if name == "create":
        data = {"title": "Drawn", "kind": "staff_talks", **as_data(args[0])}
        made.append(save_engagement(writer, data).pk)
    elif name == "edit" and made:
        pk = made[args[0] % len(made)]
        version = Engagement.objects.get(pk=pk).version
        save_engagement(writer, as_data(args[1]), pk, version)
    elif name == "delete" and made:
        pk = made.pop(args[0] % len(made))
        delete_engagement(writer, pk, Engagement.objects.get(pk=pk).version)
        deleted.append(pk)
    elif name == "restore" and deleted:
        pk = deleted.pop(args[0] % len(deleted))
        made.append(restore_engagement(writer, pk).pk)
    elif name in ("joined", "left"):
        membership = Membership.objects.get(member__code="TLS", organization__code="ASEAN")
        if name == "joined":
            membership.joined = min(args[0], membership.left or D.max)
        else:
            membership.left = max(args[0], membership.joined + datetime.timedelta(days=1))
        membership.save()
    elif name == "deactivate":
        partner = Partner.objects.get(code=args[0])
        partner.active = not partner.active
        partner.save()
    elif name == "region":
        partner = Partner.objects.get(code="KOR")
        partner.region = args[0]
        partner.save()


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(operations, min_size=1, max_size=6))
def test_reports_equal_the_straightforward_computation_after_any_writes(db, steps):
    with transaction.atomic():
        writer = make_user(Role.ADMIN, Marking.NS)
        readers = [make_user(Role.ANALYST, Marking.NU), writer]
        made, deleted = [], []
        for operation in steps:
            apply(operation, writer, made, deleted)
            assert_reports_match(readers)
        transaction.set_rollback(True)


def month_bucket(partner, month):
    bucket = ReportSummary.objects.get(
        span="month", kind="partner", ref=str(partner.pk), pillar=0, start=month
    )
    return bucket.count, bucket.last


def test_a_write_moves_only_the_buckets_it_changes_and_a_months_newest_day_follows(admin_ns):
    """A month's bucket moves by what its day changed; when the day that held its newest
    engagement loses it, the newest day is found again among the month's days."""
    japan = Partner.objects.get(code="JPN")
    early = make_engagement(partners=["JPN"], start_date=D(2025, 3, 3))
    late = make_engagement(partners=["JPN", "AUS"], start_date=D(2025, 3, 20))
    assert month_bucket(japan, D(2025, 3, 1)) == (2, D(2025, 3, 20))
    untouched = ReportSummary.objects.get(
        span="month", kind="partner", ref=str(japan.pk), pillar=0, start=D(2025, 3, 1)
    ).pk
    delete_engagement(admin_ns, late.pk, late.version)
    assert month_bucket(japan, D(2025, 3, 1)) == (1, D(2025, 3, 3))
    # the bucket was moved in place, not deleted and made again
    assert ReportSummary.objects.filter(pk=untouched).exists()
    save_engagement(admin_ns, {"start_date": D(2025, 3, 25)}, early.pk, early.version)
    assert month_bucket(japan, D(2025, 3, 1)) == (1, D(2025, 3, 25))
    call_command("check_summaries", stdout=io.StringIO())


def test_a_write_over_inexact_summaries_counts_its_day_again_instead_of_failing(admin_ns, caplog):
    engagement = make_engagement(partners=["JPN"], start_date=D(2025, 3, 3))
    ReportSummary.objects.filter(span="day", kind="partner").delete()  # damaged by hand
    delete_engagement(admin_ns, engagement.pk, engagement.version)
    assert "were not exact: counted again" in caplog.text
    assert not ReportSummary.objects.filter(span="day", start=D(2025, 3, 3)).exists()


def test_check_summaries_finds_and_fixes_a_difference():
    engagement = make_engagement(partners=["JPN"], pillars=["security"])
    call_command("check_summaries", stdout=io.StringIO())  # exact
    ReportSummary.objects.filter(kind="partner").update(count=5)
    out = io.StringIO()
    with pytest.raises(CommandError, match="differ"):
        call_command("check_summaries", "--fix", stdout=out)
    assert "should be [1," in out.getvalue()
    call_command("check_summaries", stdout=io.StringIO())  # fixed: exits 0
    assert (
        ReportSummary.objects.get(
            span="month", kind="partner", pillar=engagement.pillars.get().pk
        ).count
        == 1
    )


def test_check_summaries_compares_month_by_month_and_counts_every_difference(
    django_assert_max_num_queries,
):
    """A month at a time (so memory holds one month's buckets at a million engagements),
    months with stored buckets and no engagement included; all differences are counted,
    the first --show listed."""
    for month in (1, 2, 3):
        make_engagement(
            partners=["JPN"], pillars=["security"], start_date=datetime.date(2025, month, 9)
        )
    stale = ReportSummary.objects.filter(span="month", start=datetime.date(2025, 3, 1)).first()
    stale.pk, stale.start = None, datetime.date(2024, 7, 1)  # a month nothing starts in
    stale.save()
    changed = ReportSummary.objects.filter(start__month=1, kind="partner").update(count=9)
    out = io.StringIO()
    with pytest.raises(CommandError, match=rf"^{changed + 1} summary bucket\(s\) differ"):
        call_command("check_summaries", "--show", "1", stdout=out)
    listed = out.getvalue().splitlines()
    assert (
        len(listed) == 1 and listed[0].startswith("day 2025-01-09") and "should be [1," in listed[0]
    )
    # Per month: its months (two queries), then each month's engagements, their four
    # relations, the directory and the stored buckets.
    with django_assert_max_num_queries(2 + 4 * 10), pytest.raises(CommandError):
        call_command("check_summaries", stdout=io.StringIO())


def test_seed_demo_builds_summaries():
    call_command("seed_demo", "--engagements", "300", "--seed", "3", stdout=io.StringIO())
    assert ReportSummary.objects.exists()
    call_command("check_summaries", stdout=io.StringIO())
