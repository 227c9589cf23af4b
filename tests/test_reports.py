"""Reports against an oracle: a hand-built data set whose every number is worked out
here by hand, on the period's edges and one day outside them."""

import csv
import datetime
import io
import threading
import time

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone
from knox.models import AuthToken
from openpyxl import load_workbook
from rest_framework.test import APIClient, APIRequestFactory

from accounts.authentication import TokenAuthentication
from accounts.choices import Marking, Role
from core import cache as shared
from core import periods
from engagements import summaries
from engagements.services import delete_engagement, save_engagement
from partners.models import Partner
from reports import queries as reports
from roadmap.models import ReportStamp, Tip, TipStatusUpdate
from tests.factories import make_engagement, make_partner, make_user

pytestmark = pytest.mark.usefixtures("reference_data")

D = datetime.date
START, END = D(2025, 1, 1), D(2025, 12, 31)
PILLARS = ["dialogue", "security", "economic", "hadr"]


@pytest.fixture
def oracle():
    """E1…E11 as in the module docstring; TLS joined ASEAN on 2025-10-26."""
    e = {}
    e[1] = make_engagement(
        partners=["JPN", "KOR"], pillars=["dialogue", "security"], start_date=START
    )
    e[2] = make_engagement(partners=["JPN"], pillars=["security"], start_date=END, marking="NR")
    e[3] = make_engagement(partners=["JPN"], pillars=["dialogue"], start_date=D(2024, 12, 31))
    e[4] = make_engagement(partners=["KOR"], pillars=["hadr"], start_date=D(2026, 1, 1))
    e[5] = make_engagement(
        partners=["JPN"], pillars=["economic"], start_date=D(2025, 6, 1), status="planned"
    )
    e[6] = make_engagement(
        partners=["KOR"], pillars=["economic"], start_date=D(2025, 6, 2), status="cancelled"
    )
    e[7] = make_engagement(
        partners=["IDN"], pillars=["hadr"], start_date=D(2025, 3, 3), marking="NC"
    )
    e[8] = make_engagement(partners=["TLS"], pillars=["security"], start_date=D(2025, 7, 7))
    e[9] = make_engagement(partners=["TLS"], pillars=["security"], start_date=D(2025, 11, 11))
    e[10] = make_engagement(
        partners=["ASEAN", "IDN"], pillars=["dialogue"], start_date=D(2025, 5, 5), marking="NS"
    )
    e[11] = make_engagement(
        partners=["JPN"], pillars=["hadr"], start_date=D(2025, 8, 8), marking="NS"
    )
    return e


def cells(**counts):
    """{pillar: {count, last}} from dialogue=(1, "2025-01-01") style arguments."""
    result = {pillar: {"count": 0, "last": None} for pillar in PILLARS}
    for pillar, (count, last) in counts.items():
        result[pillar] = {"count": count, "last": D.fromisoformat(last)}
    return result


EXPECTED_NS = {
    "JPN": (
        cells(dialogue=(1, "2025-01-01"), security=(2, "2025-12-31"), hadr=(1, "2025-08-08")),
        3,
    ),
    "KOR": (cells(dialogue=(1, "2025-01-01"), security=(1, "2025-01-01")), 1),
    "IDN": (cells(dialogue=(1, "2025-05-05"), hadr=(1, "2025-03-03")), 2),
    "TLS": (cells(security=(2, "2025-11-11")), 2),
    "ASEAN": (cells(dialogue=(1, "2025-05-05")), 1),
}


# Rolled up into organizations by membership date: E10 names ASEAN and IDN, so counts
# once for ASEAN; E7 counts for ASEAN through IDN; E9 through TLS (a member by then), E8 not.
EXPECTED_ROLLED_UP = {
    **EXPECTED_NS,
    "ASEAN": (
        cells(dialogue=(1, "2025-05-05"), security=(1, "2025-11-11"), hadr=(1, "2025-03-03")),
        3,
    ),
}


def by_code(data):
    return {row["partner"]: row for row in data["rows"]}


def check_rows(data, expected):
    rows = by_code(data)
    for code, row in rows.items():
        want_cells, want_total = expected.get(code, (cells(), 0))
        assert row["cells"] == want_cells, code
        assert row["total"] == want_total, code


def test_coverage_matches_the_oracle(oracle):
    user = make_user(Role.MANAGER, Marking.NS)
    data = reports.coverage(user, start=START, end=END)
    assert data["pillars"] == PILLARS
    # One row for every active partner, those with nothing included.
    assert len(data["rows"]) == Partner.objects.filter(active=True).count()
    assert by_code(data)["AUS"]["total"] == 0
    check_rows(data, EXPECTED_NS)
    assert data["totals"] == {"dialogue": 2, "security": 4, "economic": 0, "hadr": 2}
    assert data["total"] == 7


def test_coverage_rolls_members_up_by_membership_date(oracle):
    user = make_user(Role.MANAGER, Marking.NS)
    data = reports.coverage(user, start=START, end=END, rollup=True)
    check_rows(data, EXPECTED_ROLLED_UP)
    assert data["total"] == 7


def test_coverage_counts_nothing_above_clearance(oracle):
    user = make_user(Role.ANALYST, Marking.NU)
    data = reports.coverage(user, start=START, end=END)
    check_rows(
        data,
        {
            "JPN": (cells(dialogue=(1, "2025-01-01"), security=(1, "2025-01-01")), 1),
            "KOR": (cells(dialogue=(1, "2025-01-01"), security=(1, "2025-01-01")), 1),
            "TLS": (cells(security=(2, "2025-11-11")), 2),
        },
    )
    assert data["totals"] == {"dialogue": 1, "security": 3, "economic": 0, "hadr": 0}
    assert data["total"] == 3


def test_coverage_status_kind_and_region_filters(oracle):
    user = make_user(Role.MANAGER, Marking.NS)
    planned = reports.coverage(user, start=START, end=END, status="planned")
    assert by_code(planned)["JPN"]["cells"]["economic"] == {"count": 1, "last": D(2025, 6, 1)}
    assert planned["total"] == 1
    every = reports.coverage(user, start=START, end=END, status=None)
    assert every["totals"]["economic"] == 2 and every["total"] == 9
    orgs = reports.coverage(user, start=START, end=END, kind="regional_org")
    assert {row["partner"] for row in orgs["rows"]} == {"ASEAN", "PIF"}
    assert orgs["total"] == 1  # E10 only: the totals follow the rows shown
    northeast = reports.coverage(user, start=START, end=END, region="northeast_asia")
    assert northeast["totals"] == {"dialogue": 1, "security": 2, "economic": 0, "hadr": 1}


def test_coverage_query_count_is_fixed(oracle, django_assert_num_queries):
    user = make_user(Role.MANAGER, Marking.NS)
    assert user.role == Role.MANAGER  # looked up once per request (by the middleware)
    # the data stamp (cache key), pillars, partners, the summaries of the whole months
    expected = 4
    with django_assert_num_queries(expected):
        reports.coverage(user, start=START, end=END, rollup=True)
    for _ in range(30):
        make_partner()
    with django_assert_num_queries(expected):
        data = reports.coverage(user, start=START, end=END, rollup=True)
    assert len(data["rows"]) >= 59


def test_coverage_downloads_equal_the_report(client, oracle):
    user = make_user(Role.MANAGER, Marking.NS)
    client.force_login(user)
    query = "/reports/coverage/?period=custom&start=2025-01-01&end=2025-12-31&rollup=members"
    page = client.get(query)
    assert page.status_code == 200
    # The oracle rolled up, a row for every active partner in the directory's order (by
    # name): the page, the CSV and the XLSX each hold exactly these numbers.
    directory = list(Partner.objects.filter(active=True).values_list("code", "name"))
    expected = [
        (code, name, *EXPECTED_ROLLED_UP.get(code, (cells(), 0))) for code, name in directory
    ]
    data = page.context["data"]
    assert [(row["partner"], row["name"]) for row in data["rows"]] == directory
    check_rows(data, EXPECTED_ROLLED_UP)
    assert data["total"] == 7
    header = ["partner", "name"]
    for pillar in PILLARS:
        header += [pillar, f"{pillar}_last"]
    header.append("total")
    want = [header] + [
        [code, name]
        + [
            text
            for pillar in PILLARS
            for text in (
                str(counts[pillar]["count"]),
                counts[pillar]["last"].isoformat() if counts[pillar]["last"] else "",
            )
        ]
        + [str(total)]
        for code, name, counts, total in expected
    ]
    response = client.get(query + "&format=csv")
    assert list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode()))) == want
    # XLSX holds real numbers and dates (openpyxl reads a date cell as a datetime).
    sheet = load_workbook(io.BytesIO(client.get(query + "&format=xlsx").content)).active
    typed = [header] + [
        [code, name]
        + [
            value
            for pillar in PILLARS
            for value in (
                counts[pillar]["count"],
                datetime.datetime.combine(counts[pillar]["last"], datetime.time())
                if counts[pillar]["last"]
                else None,
            )
        ]
        + [total]
        for code, name, counts, total in expected
    ]
    assert [list(row) for row in sheet.values] == typed
    # One click from a cell to the engagements behind it, rolled up as the report is (an
    # href's "&" is written "&amp;").
    html = page.content.decode().replace("&amp;", "&")
    assert (
        "/engagements/?partner=JPN&rollup=members&pillar=security&status=completed"
        "&start_after=2025-01-01&start_before=2025-12-31" in html
    )


def test_trend_matches_the_oracle(oracle):
    user = make_user(Role.MANAGER, Marking.NS)
    data = reports.trend(user, START, END, "month")
    assert [p["period"] for p in data["periods"]] == [f"2025-{m:02d}" for m in range(1, 13)]
    got = {p["period"]: (p["counts"], p["total"]) for p in data["periods"]}

    def counts(**kw):
        return {pillar: kw.get(pillar, 0) for pillar in PILLARS}

    assert got["2025-01"] == (counts(dialogue=1, security=1), 1)
    assert got["2025-03"] == (counts(hadr=1), 1)
    assert got["2025-05"] == (counts(dialogue=1), 1)
    assert got["2025-06"] == (counts(), 0)  # planned and cancelled do not count
    assert got["2025-07"] == (counts(security=1), 1)
    assert got["2025-11"] == (counts(security=1), 1)
    assert got["2025-12"] == (counts(security=1), 1)
    quarters = reports.trend(user, START, END, "quarter")
    assert [(p["period"], p["counts"], p["total"]) for p in quarters["periods"]] == [
        ("2025-Q1", counts(dialogue=1, security=1, hadr=1), 2),
        ("2025-Q2", counts(dialogue=1), 1),
        ("2025-Q3", counts(security=1, hadr=1), 2),
        ("2025-Q4", counts(security=2), 2),
    ]
    low = reports.trend(make_user(Role.ANALYST, Marking.NU), START, END, "quarter")
    assert [p["total"] for p in low["periods"]] == [1, 0, 1, 1]


def test_trend_includes_empty_periods_and_partial_edges(db):
    data = reports.trend(make_user(), D(2024, 11, 15), D(2025, 2, 3), "month")
    assert [p["period"] for p in data["periods"]] == ["2024-11", "2024-12", "2025-01", "2025-02"]
    quarters = reports.trend(make_user(), D(2024, 12, 31), D(2025, 4, 1), "quarter")
    assert [p["period"] for p in quarters["periods"]] == ["2024-Q4", "2025-Q1", "2025-Q2"]


def test_gaps_match_the_oracle(oracle):
    user = make_user(Role.MANAGER, Marking.NS)
    data = reports.gaps(user, months=6, as_of=END)
    assert data["window_start"] == D(2025, 7, 1)
    dated = {(g["partner"], g["pillar"], g["last"]) for g in data["gaps"] if g["last"]}
    assert dated == {
        ("JPN", "dialogue", D(2025, 1, 1)),
        ("KOR", "dialogue", D(2025, 1, 1)),
        ("KOR", "security", D(2025, 1, 1)),
        ("IDN", "dialogue", D(2025, 5, 5)),
        ("IDN", "hadr", D(2025, 3, 3)),
        ("ASEAN", "dialogue", D(2025, 5, 5)),
    }
    active = Partner.objects.filter(active=True).count()
    never = [g for g in data["gaps"] if g["last"] is None]
    assert len(never) == 4 * active - 6 - 3  # JPN security, JPN hadr, TLS security are fine
    assert ("KOR", "hadr") in {(g["partner"], g["pillar"]) for g in never}  # E4 is after as_of
    # Stalest first: every "never" before the dated ones, then oldest date first.
    lasts = [g["last"] for g in data["gaps"]]
    assert lasts[: len(never)] == [None] * len(never)
    assert lasts[len(never) :] == sorted(lasts[len(never) :])


def test_gaps_exclude_what_the_user_cannot_see(oracle):
    data = reports.gaps(make_user(Role.ANALYST, Marking.NU), months=6, as_of=END)
    pairs = {(g["partner"], g["pillar"]): g["last"] for g in data["gaps"]}
    assert pairs[("JPN", "security")] == D(2025, 1, 1)  # E2 is NR
    assert pairs[("IDN", "hadr")] is None  # E7 is NC


def test_gaps_download_equals_the_page(client, oracle):
    user = make_user(Role.MANAGER, Marking.NS)
    client.force_login(user)
    page = client.get("/reports/gaps/?months=6&as_of=2025-12-31")
    # As in test_gaps_match_the_oracle: stalest first, "never" before any date; ties in
    # the partners' names' order, then the pillars' order.
    dated = [
        ("JPN", "dialogue", D(2025, 1, 1)),  # Japan before the Republic of Korea
        ("KOR", "dialogue", D(2025, 1, 1)),
        ("KOR", "security", D(2025, 1, 1)),
        ("IDN", "hadr", D(2025, 3, 3)),
        ("ASEAN", "dialogue", D(2025, 5, 5)),  # the Association before Indonesia
        ("IDN", "dialogue", D(2025, 5, 5)),
    ]
    covered = {("JPN", "security"), ("JPN", "hadr"), ("TLS", "security")}
    skip = covered | {(code, pillar) for code, pillar, _ in dated}
    partners = Partner.objects.filter(active=True).values_list("code", "name")
    never = [
        (code, pillar, None)
        for code, _ in sorted(partners, key=lambda partner: partner[1])
        for pillar in PILLARS
        if (code, pillar) not in skip
    ]
    expected = never + dated
    shown = [(g["partner"], g["pillar"], g["last"]) for g in page.context["data"]["gaps"]]
    assert shown == expected
    rows = list(
        csv.reader(
            io.StringIO(
                b"".join(
                    client.get(
                        "/reports/gaps/?months=6&as_of=2025-12-31&format=csv"
                    ).streaming_content
                ).decode()
            )
        )
    )
    assert rows[0] == ["partner", "pillar", "last"]
    assert rows[1:] == [
        [code, pillar, last.isoformat() if last else ""] for code, pillar, last in expected
    ]


def test_tip_board_flags_contradictions(db, reference_data):
    manager = make_user(Role.MANAGER, Marking.NS)
    today = timezone.localdate()
    now = timezone.now()
    TipStatusUpdate.objects.create(
        tip=Tip.objects.get(number=1), status="on_track", created_by=manager
    )
    TipStatusUpdate.objects.create(
        tip=Tip.objects.get(number=2),
        status="at_risk",
        created_at=now - datetime.timedelta(days=100),
    )
    TipStatusUpdate.objects.create(
        tip=Tip.objects.get(number=3),
        status="at_risk",
        created_at=now - datetime.timedelta(days=200),
    )
    TipStatusUpdate.objects.create(
        tip=Tip.objects.get(number=3), status="achieved", created_at=now, note="Done"
    )
    make_engagement(tips=[3], start_date=today - datetime.timedelta(days=30))
    make_engagement(tips=[3], start_date=today - datetime.timedelta(days=300))
    make_engagement(tips=[3], start_date=today - datetime.timedelta(days=400))
    make_engagement(tips=[1], start_date=today - datetime.timedelta(days=250))
    board = {row["number"]: row for row in reports.tip_board(manager)}
    assert board[1]["flags"] == ["status without evidence"]
    assert board[1]["set_by"] == manager.username
    assert board[1]["engagements_12_months"] == 1
    assert board[2]["flags"] == ["stale warning"]
    assert board[3]["flags"] == [] and board[3]["status"] == "achieved"
    assert board[3]["note"] == "Done" and board[3]["engagements_12_months"] == 2
    assert board[4]["status"] == "not_started" and board[4]["set_at"] is None


def test_tip_board_query_count(db, reference_data, django_assert_num_queries):
    manager = make_user(Role.MANAGER, Marking.NS)
    for number in range(1, 7):
        TipStatusUpdate.objects.create(tip=Tip.objects.get(number=number), status="on_track")
    assert manager.role == Role.MANAGER  # looked up once per request (by the middleware)
    # the data stamp, tips with the newest update's id, their pillars, the updates with
    # authors; then for the last 12 and the last 6 months: the summaries of the whole
    # months and those of the days of the partial months
    with django_assert_num_queries(8):
        reports.tip_board(manager)


def test_month_arithmetic():
    assert periods.months_before(D(2025, 3, 31), 1) == D(2025, 2, 28)
    assert periods.months_before(D(2024, 3, 31), 1) == D(2024, 2, 29)
    assert periods.months_before(D(2025, 1, 15), 13) == D(2023, 12, 15)
    assert periods.last_months(12, D(2025, 12, 31)) == (D(2025, 1, 1), D(2025, 12, 31))
    assert periods.last_months(6, D(2025, 12, 31)) == (D(2025, 7, 1), D(2025, 12, 31))
    assert periods.months_before(D(3, 5, 8), 89) == D.min  # found by the API fuzzer


@pytest.mark.parametrize("url", ["/reports/coverage/", "/reports/trend/", "/reports/gaps/"])
def test_reports_answer_every_role_and_survive_bad_input(client, every_role, url):
    for user in every_role.values():
        client.force_login(user)
        assert client.get(url).status_code == 200
        bad = (
            "?period=custom&start=2025-13-45&end=nope&months=x&as_of=2025-02-30"
            "&kind=zzz&interval=week"
        )
        # Refused, not corrected silently: the page says what is wrong (status 400).
        response = client.get(url + bad)
        assert response.status_code == 400
        assert 'role="alert"' in response.content.decode()


def test_a_stamp_rolled_back_is_never_seen_again(db):
    """The data stamp's value may come back (a write rolled back, a database restored),
    its nonce does not: what was cached under one stamp is never taken for another's."""

    class RolledBack(Exception):
        pass

    before = summaries.stamp()
    with pytest.raises(RolledBack), transaction.atomic():
        summaries.bump_stamp()
        rolled_back = summaries.stamp()
        raise RolledBack
    assert summaries.stamp() == before
    summaries.bump_stamp()
    after = summaries.stamp()
    assert after[0] == rolled_back[0] and after != rolled_back


def test_a_local_copy_lasts_no_longer_than_the_shared_one(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(shared.time, "monotonic", lambda: now[0])
    computed = []

    def compute():
        computed.append(1)
        return b"answer"

    assert shared.computed_once("k", compute, 60, local=True) == b"answer"
    cache.clear()  # the shared copy gone: this process still has its own...
    assert shared.computed_once("k", compute, 60, local=True) == b"answer"
    assert len(computed) == 1
    now[0] += 61  # ...for as long as the shared cache would have kept it
    assert shared.computed_once("k", compute, 60, local=True) == b"answer"
    assert len(computed) == 2
    shared.forget_local()
    cache.clear()
    assert shared.computed_once("k", compute, 60, local=True) == b"answer"
    assert len(computed) == 3


def test_the_api_serves_a_report_kept_in_the_process(client, django_assert_num_queries):
    """Asked again, the coverage API makes one query, its token's (with its user and the data
    stamp read along), and nothing else (no shared cache); a write still moves it at once."""
    manager = make_user(Role.MANAGER, Marking.NS)
    make_engagement(partners=["JPN"], pillars=["security"], start_date=D(2025, 3, 3))
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {AuthToken.objects.create(manager)[1]}")
    url = f"/api/v1/reports/coverage/?start={START}&end={END}"
    first = api.get(url).json()
    cache.clear()
    with django_assert_num_queries(1) as captured:
        assert api.get(url).json() == first
    assert '"roadmap_reportstamp"' in captured.captured_queries[0]["sql"]
    make_engagement(partners=["KOR"], pillars=["hadr"], start_date=D(2025, 4, 4))
    assert api.get(url).json()["total"] == first["total"] + 1


def test_the_stamp_read_along_with_a_token_serves_its_request_until_a_write_moves_it(
    django_assert_num_queries,
):
    """The data stamp an API token's query read along (core.db.read_along_with_token) is
    the request's, with no query of its own; a write in the request moves it (the next ask
    reads the new one), and nothing read along outlives the request."""
    summaries.bump_stamp()
    key = AuthToken.objects.create(make_user(Role.MANAGER, Marking.NS))[1]
    request = APIRequestFactory().get("/api/v1/reports/coverage/")
    request.META["HTTP_AUTHORIZATION"] = f"Token {key}"
    TokenAuthentication().authenticate(request)  # as an API view does
    with django_assert_num_queries(0):
        read = summaries.stamp()
    assert read == tuple(ReportStamp.objects.filter(pk=1).values_list("value", "nonce").get())
    summaries.bump_stamp()
    with django_assert_num_queries(1):
        moved = summaries.stamp()
    assert moved[0] == read[0] + 1 and moved[1] != read[1]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/reports/coverage/").status_code == 200
    with django_assert_num_queries(1):  # the request has ended: asked again
        assert summaries.stamp() == moved


def test_the_api_plans_its_hot_queries_once_a_connection_on_postgresql(client):
    """The token with its user and the data stamp, asked at every API call, are prepared
    statements on PostgreSQL after a few runs (core.db.prepared_cursor): PostgreSQL plans
    them once a connection; behind PgBouncer (DJANGO_PGBOUNCER=1) nothing is prepared.
    Answers stay right: a revoked token is refused at once."""
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's (SQLite plans in the process)")
    manager = make_user(Role.MANAGER, Marking.NS)
    token, key = AuthToken.objects.create(manager)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    url = f"/api/v1/reports/coverage/?start={START}&end={END}"
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    for _ in range(6):
        assert api.get(url).status_code == 200
        summaries.stamp()  # outside a request: asked on its own
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [statement for (statement,) in cursor.fetchall()]
    if settings.PGBOUNCER:  # a server session lasts one transaction there: none at all
        assert prepared == []
    else:
        token_query = 'FROM "knox_authtoken" INNER JOIN "accounts_user"'
        assert [s for s in prepared if token_query in s and '"roadmap_reportstamp"' in s]
        stamp_query = 'SELECT value, nonce FROM "roadmap_reportstamp"'
        assert [s for s in prepared if s.startswith(stamp_query)]
    token.delete()
    assert api.get(url).status_code == 401


@pytest.mark.shared_cache
def test_reports_are_cached_until_something_changes(oracle, django_assert_num_queries):
    manager = make_user(Role.MANAGER, Marking.NS)
    first = reports.coverage(manager, start=START, end=END)
    with django_assert_num_queries(1):  # the data stamp only
        assert reports.coverage(manager, start=START, end=END) == first
    # Another clearance is another result, never the cached one.
    low = reports.coverage(make_user(Role.ANALYST, Marking.NU), start=START, end=END)
    assert low["total"] == 3 and first["total"] == 7
    # Any write through the app moves the stamp: the next answer is fresh and right.
    make_engagement(partners=["AUS"], pillars=["hadr"], start_date=D(2025, 4, 4))
    assert reports.coverage(manager, start=START, end=END)["total"] == 8
    save_engagement(manager, {"status": "cancelled"}, oracle[2].pk, version=1)
    assert reports.coverage(manager, start=START, end=END)["total"] == 7
    delete_engagement(manager, oracle[2].pk, version=2)
    delete_engagement(manager, oracle[7].pk, version=1)
    assert reports.coverage(manager, start=START, end=END)["total"] == 6
    aus = Partner.objects.get(code="AUS")  # partners are tracked too
    aus.active = False
    aus.save()
    assert "AUS" not in {
        row["partner"] for row in reports.coverage(manager, start=START, end=END)["rows"]
    }


def _another_worker_computing(manager, then, after=0.2):
    """Mark coverage(manager, START, END) as being computed by another worker, which
    `then` (a function of the report's key) a moment later."""
    key = reports.report_key("coverage", manager, (), {"start": START, "end": END})
    assert cache.add(key + ":computing", True, 60)
    worker = threading.Timer(after, then, [key])
    worker.start()
    return key, worker


@pytest.mark.shared_cache
def test_a_report_another_worker_is_computing_is_waited_for(oracle, django_assert_num_queries):
    """After a write, workers asking for the same report do not all compute it at once:
    one computes, the others wait for its answer."""
    manager = make_user(Role.MANAGER, Marking.NS)
    answer = reports.coverage.uncached(manager, start=START, end=END)
    key, worker = _another_worker_computing(
        manager, lambda key: (cache.set(key, answer, 60), cache.delete(key + ":computing"))
    )
    with django_assert_num_queries(1):  # the data stamp; nothing is counted here
        assert reports.coverage(manager, start=START, end=END) == answer
    worker.join()


@pytest.mark.shared_cache
def test_a_worker_that_stops_without_an_answer_is_not_waited_for(oracle, monkeypatch):
    manager = make_user(Role.MANAGER, Marking.NS)
    answer = reports.coverage.uncached(manager, start=START, end=END)
    # The other worker fails: its mark goes, no answer comes; this one computes at once.
    key, worker = _another_worker_computing(manager, lambda key: cache.delete(key + ":computing"))
    began = time.monotonic()
    assert reports.coverage(manager, start=START, end=END) == answer
    assert time.monotonic() - began < shared.WAIT_SECONDS
    assert cache.get(key) == answer
    worker.join()
    # One that never answers (hung, its mark still there) is waited for a bounded time,
    # and its mark is left to it.
    monkeypatch.setattr(shared, "WAIT_SECONDS", 0.3)
    cache.clear()
    key, worker = _another_worker_computing(manager, lambda key: None)
    assert reports.coverage(manager, start=START, end=END) == answer
    assert cache.get(key) == answer and cache.get(key + ":computing") is True
    worker.join()


def test_tip_board_page_and_download_agree(client, db, reference_data):
    manager = make_user(Role.MANAGER, Marking.NS)
    TipStatusUpdate.objects.create(tip=Tip.objects.get(number=1), status="on_track", note="Fine")
    client.force_login(manager)
    page = client.get("/reports/tips/")
    assert page.status_code == 200 and b"status without evidence" in page.content
    rows = list(
        csv.reader(
            io.StringIO(
                b"".join(client.get("/reports/tips/?format=csv").streaming_content).decode()
            )
        )
    )
    assert rows[0][:4] == ["number", "code", "title", "status"]
    assert rows[1][:4] == [
        "1",
        "strengthen-partnerships",
        "Strengthen Existing Partnerships",
        "on_track",
    ]
    assert rows[1][-1] == "status without evidence"
    assert [row[0] for row in rows[1:]] == [str(tip["number"]) for tip in page.context["tip_board"]]
