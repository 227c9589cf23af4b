"""Targets and the plan report against an oracle worked out by hand.

As of 2025-06-15:

- JPN × dialogue, at least 2 every 3 months: the window W is 2025-03-16 … 2025-06-15 (3
  months before the 15th is 2025-03-15, so W starts the day after), the look-ahead
  2025-06-16 … 2025-09-15. Completed on 2025-03-15 (one day before W: out), 2025-03-16
  (W's first day: in), 2025-06-15 (W's last day: in), 2025-06-16 (after as_of: out).
  done 2, planned 0, last 2025-06-15: met.
- KOR × security, at least 2 every month: W 2025-05-16 … 2025-06-15, look-ahead
  2025-06-16 … 2025-07-15. Completed 2025-04-01 (out) and 2025-05-16 (in); planned
  2025-06-15 (on as_of, not after it: out), 2025-07-15 (the look-ahead's last day: in),
  2025-07-16 (one day past: out); a cancelled one on 2025-06-20 (out). done 1, planned 1,
  last 2025-05-16: planned.
- AUS × hadr, at least 1 every 6 months: nothing. done 0, planned 0, last null: behind.
- JPN × economic, at least 1 every 12 months: one completed engagement on 2025-01-10
  marked NS. An NU reader: done 0, last null, behind; an NS reader: done 1, met.
- An inactive target (KOR × hadr) is not in the report.
"""

import csv
import datetime
import io

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from accounts.choices import Marking, Role
from partners.models import Partner
from reports import queries as reports
from roadmap.models import Pillar, Target
from tests.factories import api_client, make_engagement, make_partner, make_user

pytestmark = pytest.mark.usefixtures("reference_data")

D = datetime.date
AS_OF = D(2025, 6, 15)


def target(partner, pillar, minimum, months, **fields):
    return Target.objects.create(
        partner=Partner.objects.get(code=partner),
        pillar=Pillar.objects.get(code=pillar),
        minimum=minimum,
        months=months,
        **fields,
    )


@pytest.fixture
def oracle():
    targets = {
        "jpn": target("JPN", "dialogue", 2, 3),
        "kor": target("KOR", "security", 2, 1),
        "aus": target("AUS", "hadr", 1, 6),
        "secret": target("JPN", "economic", 1, 12),
        "inactive": target("KOR", "hadr", 1, 12, active=False),
    }
    for day in (D(2025, 3, 15), D(2025, 3, 16), D(2025, 6, 15), D(2025, 6, 16)):
        make_engagement(partners=["JPN"], pillars=["dialogue"], start_date=day)
    make_engagement(partners=["KOR"], pillars=["security"], start_date=D(2025, 4, 1))
    # Two partners and two pillars: counts once for KOR × security.
    make_engagement(
        partners=["JPN", "KOR"], pillars=["security", "hadr"], start_date=D(2025, 5, 16)
    )
    for day in (D(2025, 6, 15), D(2025, 7, 15), D(2025, 7, 16)):
        make_engagement(partners=["KOR"], pillars=["security"], start_date=day, status="planned")
    make_engagement(
        partners=["KOR"], pillars=["security"], start_date=D(2025, 6, 20), status="cancelled"
    )
    make_engagement(
        partners=["JPN"], pillars=["economic"], start_date=D(2025, 1, 10), marking=Marking.NS
    )
    return targets


def entry(targets, key, partner, pillar, minimum, months, done, planned, last, status):
    return {
        "target": targets[key].pk,
        "partner": partner,
        "pillar": pillar,
        "minimum": minimum,
        "months": months,
        "done": done,
        "planned": planned,
        "last": last,
        "status": status,
    }


def expected(targets, cleared_ns):
    aus = entry(targets, "aus", "AUS", "hadr", 1, 6, 0, 0, None, "behind")
    kor = entry(targets, "kor", "KOR", "security", 2, 1, 1, 1, "2025-05-16", "planned")
    jpn = entry(targets, "jpn", "JPN", "dialogue", 2, 3, 2, 0, "2025-06-15", "met")
    if cleared_ns:
        secret = entry(targets, "secret", "JPN", "economic", 1, 12, 1, 0, "2025-01-10", "met")
        return [aus, kor, jpn, secret]  # met: JPN dialogue before JPN economic (pillar order)
    secret = entry(targets, "secret", "JPN", "economic", 1, 12, 0, 0, None, "behind")
    return [aus, secret, kor, jpn]  # behind: AUS before JPN


@pytest.mark.parametrize("clearance", [Marking.NU, Marking.NS])
def test_plan_report_matches_the_oracle(oracle, clearance):
    reader = api_client(make_user(Role.ANALYST, clearance))
    response = reader.get("/api/v1/reports/plan/?as_of=2025-06-15")
    assert response.status_code == 200
    assert response.json() == expected(oracle, clearance == Marking.NS)


def test_the_look_ahead_ends_on_the_same_day_or_the_months_last_day(db, reference_data):
    """As of 2025-08-31, 6 months: W is 2025-03-01 … 2025-08-31 (2025-02-28 is 6 months
    before, clamped), the look-ahead 2025-09-01 … 2026-02-28 (no 31st in February)."""
    goal = target("IDN", "hadr", 3, 6)
    make_engagement(partners=["IDN"], pillars=["hadr"], start_date=D(2025, 2, 28))
    make_engagement(partners=["IDN"], pillars=["hadr"], start_date=D(2025, 3, 1))
    for day in (D(2025, 9, 1), D(2026, 2, 28), D(2026, 3, 1)):
        make_engagement(partners=["IDN"], pillars=["hadr"], start_date=day, status="planned")
    user = make_user(Role.ANALYST, Marking.NU)
    [row] = reports.plan(user, as_of=D(2025, 8, 31))["targets"]
    assert (row["target"], row["done"], row["planned"], row["status"]) == (goal.pk, 1, 2, "planned")
    assert (row["since"], row["until"]) == (D(2025, 3, 1), D(2026, 2, 28))
    assert row["last"] == D(2025, 3, 1)


def test_plan_query_count_is_fixed(oracle, django_assert_num_queries):
    user = make_user(Role.MANAGER, Marking.NS)
    assert user.role == Role.MANAGER  # looked up once per request (by the middleware)
    # the targets with partners and pillars; the windows' month rows and day rows; the
    # newest completed start dates: month rows and the days of as_of's month
    with django_assert_num_queries(5):
        reports.plan(user, as_of=AS_OF)
    for number in range(20):
        target(make_partner().code, "dialogue", 1, number % 36 + 1)
    with django_assert_num_queries(5):
        assert len(reports.plan(user, as_of=AS_OF)["targets"]) == 24


def test_plan_page_and_downloads_show_the_same_numbers(client, oracle):
    client.force_login(make_user(Role.ANALYST, Marking.NU))
    page = client.get("/reports/plan/?as_of=2025-06-15")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Australia" in text
    statuses = {row["partner"]: row["status"] for row in page.context["data"]["targets"]}
    assert statuses["AUS"] == "behind"
    download = client.get("/reports/plan/?as_of=2025-06-15&format=csv")
    rows = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode())))
    assert rows[0] == [
        "partner",
        "pillar",
        "minimum",
        "months",
        "done",
        "planned",
        "last",
        "status",
    ]
    assert rows[1:] == [
        ["AUS", "hadr", "1", "6", "0", "0", "", "behind"],
        ["JPN", "economic", "1", "12", "0", "0", "", "behind"],
        ["KOR", "security", "2", "1", "1", "1", "2025-05-16", "planned"],
        ["JPN", "dialogue", "2", "3", "2", "0", "2025-06-15", "met"],
    ]
    xlsx = client.get("/reports/plan/?as_of=2025-06-15&format=xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    values = list(sheet.values)
    assert values[3][:6] == ("KOR", "security", 2, 1, 1, 1)
    assert client.get("/reports/plan/?as_of=2025-02-30").status_code == 400


def test_plan_api_refuses_a_bad_date(oracle):
    reader = api_client(make_user(Role.ANALYST, Marking.NU))
    response = reader.get("/api/v1/reports/plan/?as_of=2025-02-30")
    assert response.status_code == 400 and "as_of" in response.json()


# Targets -------------------------------------------------------------------------------


def test_managers_and_admins_set_targets_analysts_read_them(db, reference_data):
    body = {"partner": "NZL", "pillar": "hadr", "minimum": 2, "months": 12, "note": "Pacific"}
    analyst = api_client(make_user(Role.ANALYST, Marking.NS))
    assert analyst.post("/api/v1/targets/", body).status_code == 403
    manager = api_client(make_user(Role.MANAGER, Marking.NU))
    created = manager.post("/api/v1/targets/", body)
    assert created.status_code == 201
    stored = Target.objects.get(pk=created.json()["id"])
    assert (stored.partner.code, stored.pillar.code, stored.minimum, stored.months) == (
        "NZL",
        "hadr",
        2,
        12,
    )
    assert stored.active and stored.note == "Pacific"
    assert created.json() == {"id": stored.pk, **body, "note_marking": "NU", "active": True}
    url = f"/api/v1/targets/{stored.pk}/"
    assert analyst.get(url).json()["partner"] == "NZL"
    assert analyst.patch(url, {"minimum": 3}).status_code == 403
    assert manager.patch(url, {"minimum": 3}).json()["minimum"] == 3
    assert manager.put(url, {**body, "minimum": 4}).status_code == 405
    assert stored.history.count() == 2  # created, changed
    assert analyst.delete(url).status_code == 403
    assert manager.delete(url).status_code == 204
    assert not Target.objects.filter(pk=stored.pk).exists()


@pytest.mark.parametrize(
    "change, field",
    [
        ({"minimum": 0}, "minimum"),
        ({"months": 0}, "months"),
        ({"months": 37}, "months"),
        ({"minimum": -1}, "minimum"),
        ({"partner": "NOPE"}, "partner"),
        ({"pillar": "nope"}, "pillar"),
        ({"minimum": 10**20}, "minimum"),
    ],
)
def test_target_rules_answer_400_by_field(db, reference_data, change, field):
    manager = api_client(make_user(Role.MANAGER, Marking.NU))
    body = {"partner": "NZL", "pillar": "hadr", "minimum": 2, "months": 12, **change}
    response = manager.post("/api/v1/targets/", body)
    assert response.status_code == 400
    assert field in response.json()
    assert not Target.objects.exists()


def test_one_active_target_per_partner_and_pillar(db, reference_data):
    manager = api_client(make_user(Role.MANAGER, Marking.NU))
    body = {"partner": "NZL", "pillar": "hadr", "minimum": 2, "months": 12}
    first = manager.post("/api/v1/targets/", body).json()
    second = manager.post("/api/v1/targets/", {**body, "minimum": 5})
    assert second.status_code == 400 and "pillar" in second.json()
    # An inactive one may stand beside it, and once the first is off another may be on.
    assert manager.post("/api/v1/targets/", {**body, "active": False}).status_code == 201
    manager.patch(f"/api/v1/targets/{first['id']}/", {"active": False})
    assert manager.post("/api/v1/targets/", {**body, "minimum": 5}).status_code == 201
    assert Target.objects.filter(active=True).count() == 1


def test_target_filters(db, reference_data):
    one = target("NZL", "hadr", 1, 12)
    two = target("NZL", "dialogue", 1, 12, active=False)
    three = target("JPN", "hadr", 1, 12)
    reader = api_client(make_user(Role.ANALYST, Marking.NU))

    def ids(query):
        return [row["id"] for row in reader.get(f"/api/v1/targets/?{query}").json()["results"]]

    assert ids("partner=NZL") == [two.pk, one.pk]  # dialogue comes before hadr
    assert ids("pillar=hadr") == [three.pk, one.pk]  # JPN before NZL
    assert ids("active=false") == [two.pk]
    assert ids("partner=NZL&active=true") == [one.pk]
    assert reader.get("/api/v1/targets/?partner=NOPE").status_code == 400


# Pages -----------------------------------------------------------------------------------


def test_managers_set_targets_on_the_plan_page_and_the_partner_profile(client, db, reference_data):
    manager = make_user(Role.MANAGER, Marking.NU)
    client.force_login(manager)
    hadr = Pillar.objects.get(code="hadr")
    nzl = Partner.objects.get(code="NZL")
    body = {"partner": nzl.pk, "pillar": hadr.pk, "minimum": 2, "months": 12, "active": "on"}
    assert client.post("/reports/plan/", body).status_code == 302
    stored = Target.objects.get()
    assert (stored.partner, stored.pillar, stored.minimum, stored.months, stored.active) == (
        nzl,
        hadr,
        2,
        12,
        True,
    )
    assert stored.created_by == manager
    # A second active one for the same pair: the page again, the rule beside the pillar.
    again = client.post("/partners/NZL/", {**body, "minimum": 3})
    assert again.status_code == 200
    assert "already has an active target in this pillar" in again.content.decode()
    assert Target.objects.count() == 1
    profile = client.get("/partners/NZL/").content.decode()
    assert "at least 2 every 12 months" in profile and "Set a target" in profile
    # Deactivate it from the profile, then set another one there.
    assert client.post("/partners/NZL/", {"deactivate": stored.pk}).status_code == 302
    stored.refresh_from_db()
    assert not stored.active
    assert client.post("/partners/NZL/", {**body, "minimum": 3}).status_code == 302
    assert Target.objects.filter(active=True).get().minimum == 3


def test_analysts_read_targets_but_do_not_set_them(client, oracle):
    analyst = make_user(Role.ANALYST, Marking.NS)
    client.force_login(analyst)
    page = client.get("/reports/plan/").content.decode()
    assert "Set a target" not in page and "Deactivate" not in page
    profile = client.get("/partners/KOR/").content.decode()
    assert "every 1 month" in profile and "Set a target" not in profile
    body = {"partner": Partner.objects.get(code="NZL").pk, "pillar": 1, "minimum": 1, "months": 1}
    assert client.post("/reports/plan/", body).status_code == 403
    assert client.post("/partners/NZL/", body).status_code == 403
    assert client.post("/partners/JPN/", {"deactivate": oracle["jpn"].pk}).status_code == 403
    assert Target.objects.filter(active=True).count() == 4


def test_manager_dashboard_shows_targets_behind(client, oracle):
    client.force_login(make_user(Role.MANAGER, Marking.NU))
    page = client.get("/").content.decode()
    panel = page[page.index("Targets behind") :]
    panel = panel[: panel.index("The whole plan")]
    # Today is long after the oracle's dates: every target with nothing since is behind.
    assert "Australia" in panel and "Japan" in panel


def test_the_dashboard_tells_no_targets_from_none_behind(client, db):
    client.force_login(make_user(Role.MANAGER, Marking.NU))
    assert "No active targets yet: set them on the plan." in client.get("/").content.decode()
    target("JPN", "dialogue", 1, 36)
    make_engagement(partners=["JPN"], pillars=["dialogue"], start_date=timezone.localdate())
    page = client.get("/").content.decode()
    assert "None of the 1 active target is behind." in page
    assert "No active targets" not in page


@pytest.mark.parametrize("url", ["/reports/plan/", "/partners/JPN/"])
def test_a_manager_changes_a_target_in_its_row(client, oracle, url):
    jpn = oracle["jpn"]
    client.force_login(make_user(Role.MANAGER, Marking.NS))
    shown = client.get(url).content.decode()
    assert f'name="edit" value="{jpn.pk}"' in shown
    response = client.post(url, {"edit": jpn.pk, "minimum": 4, "months": 6, "note": "Raised."})
    assert response.status_code == 302
    jpn.refresh_from_db()
    assert (jpn.minimum, jpn.months, jpn.note) == (4, 6, "Raised.")
    assert jpn.history.count() == 2
    assert "Target changed" in client.get(response.url).content.decode()
    # Out of range: said, and nothing changed.
    response = client.post(url, {"edit": jpn.pk, "minimum": 4, "months": 99, "note": ""})
    jpn.refresh_from_db()
    assert jpn.months == 6
    assert "Target not changed" in client.get(response.url).content.decode()


def test_analysts_cannot_change_a_target(client, oracle):
    client.force_login(make_user(Role.ANALYST, Marking.NS))
    assert 'name="edit"' not in client.get("/reports/plan/").content.decode()
    response = client.post("/reports/plan/", {"edit": oracle["jpn"].pk, "minimum": 9, "months": 1})
    assert response.status_code == 403
    oracle["jpn"].refresh_from_db()
    assert oracle["jpn"].minimum == 2


def test_plan_and_profile_query_counts(client, oracle, django_assert_num_queries):
    client.force_login(make_user(Role.MANAGER, Marking.NS))
    client.get("/reports/plan/?as_of=2025-06-15")
    for number in range(10):
        target(make_partner().code, "hadr", 1, number + 1)
    # session, user (its role and permissions read at the first request: User.access);
    # the plan (5); the form's partner and pillar choices (2); the header's count of
    # unread notifications
    with django_assert_num_queries(10):
        assert client.get("/reports/plan/?as_of=2025-06-15").status_code == 200
    # session, user; the plan (5)
    with django_assert_num_queries(2 + 5):
        assert client.get("/reports/plan/?as_of=2025-06-15&format=csv").status_code == 200


@pytest.mark.parametrize("as_of", ["0001-01-01", "0001-02-28", "9999-12-31", "9999-12-30"])
def test_plan_at_the_ends_of_the_calendar(oracle, as_of):
    reader = api_client(make_user(Role.ANALYST, Marking.NU))
    response = reader.get(f"/api/v1/reports/plan/?as_of={as_of}")
    assert response.status_code == 200
    rows = response.json()
    assert len(rows) == 4
    assert all(row["planned"] == 0 for row in rows)
