import datetime
import re

import pytest
from django.contrib.staticfiles import finders
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from core import cache as core_cache
from engagements.models import Engagement
from partners.models import Partner
from roadmap.models import TipStatusUpdate
from tests.factories import PASSWORD, make_engagement
from tests.test_fields import CONTRACT_FIELDS

pytestmark = pytest.mark.usefixtures("reference_data")

API = "/api/v1/"


def client_for(user=None):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def body(**overrides):
    data = {
        "title": "Cyber range exchange",
        "kind": "information_exchange",
        "status": "planned",
        "start_date": "2025-04-01",
        "end_date": "2025-04-02",
        "location": "Seoul",
        "partners": ["KOR", "JPN"],
        "pillars": ["security"],
        "facets": ["security.cyber"],
        "tips": [2],
        "marking": "NU",
        "escalation_risk": "low",
        "summary": "",
        "outcomes": "",
    }
    data.update(overrides)
    return data


# Reading ------------------------------------------------------------------------------


def test_anonymous_callers_get_401_everywhere():
    anonymous = client_for()
    for path in [
        "pillars/",
        "tips/",
        "tips/1/status/",
        "partners/",
        "partners/JPN/",
        "engagements/",
        "reports/coverage/",
        "reports/trend/",
        "reports/gaps/",
    ]:
        assert anonymous.get(API + path).status_code == 401, path


def test_pillars_in_order_with_facets(analyst_nu):
    data = client_for(analyst_nu).get(API + "pillars/").json()
    assert [p["code"] for p in data] == ["dialogue", "security", "economic", "hadr"]
    assert data[1] == {
        "code": "security",
        "name": "Shared Security Concerns",
        "order": 2,
        "facets": [
            {"code": "security.maritime", "name": "Maritime Security"},
            {"code": "security.cyber", "name": "Cyber Threats"},
            {"code": "security.wmd", "name": "Weapons of Mass Destruction"},
        ],
    }


def test_tips_with_current_status_and_history(manager_ns):
    manager = client_for(manager_ns)
    tips = manager.get(API + "tips/").json()
    assert [t["number"] for t in tips] == [1, 2, 3, 4, 5, 6]
    assert tips[0]["status"] is None and tips[0]["pillars"] == ["dialogue", "security"]
    assert (
        manager.post(API + "tips/1/status/", {"status": "at_risk", "note": "a"}).status_code == 201
    )
    assert (
        manager.post(API + "tips/1/status/", {"status": "on_track", "note": "b"}).status_code == 201
    )
    first = manager.get(API + "tips/").json()[0]
    assert first["status"]["status"] == "on_track" and first["status"]["by"] == manager_ns.username
    history = manager.get(API + "tips/1/status/").json()["results"]
    assert [h["status"] for h in history] == ["on_track", "at_risk"]
    assert manager.post(API + "tips/1/status/", {"status": "fine"}).json() == {
        "status": ['"fine" is not a valid choice.']
    }
    assert manager.get(API + "tips/99/status/").status_code == 404


def test_only_managers_and_admins_post_tip_status(analyst_ns, admin_ns):
    assert (
        client_for(analyst_ns).post(API + "tips/2/status/", {"status": "achieved"}).status_code
        == 403
    )
    assert (
        client_for(admin_ns).post(API + "tips/2/status/", {"status": "achieved"}).status_code == 201
    )
    assert TipStatusUpdate.objects.count() == 1


def test_partner_shape_and_filters(analyst_nu):
    analyst = client_for(analyst_nu)
    assert analyst.get(API + "partners/IDN/").json() == {
        "code": "IDN",
        "name": "Indonesia",
        "kind": "state",
        "region": "southeast_asia",
        "active": True,
        "aliases": "Republic of Indonesia",
        "notes": "",
        "notes_marking": "NU",
        "member_of": ["ASEAN"],
        "members": [],
    }
    assert len(analyst.get(API + "partners/ASEAN/").json()["members"]) == 11

    def codes(query):
        return [p["code"] for p in analyst.get(API + "partners/" + query).json()["results"]]

    assert codes("?member_of=PIF") == ["AUS", "FJI", "NZL", "TON", "WSM"]
    assert codes("?kind=regional_org") == ["ASEAN", "PIF"]
    assert set(codes("?region=northeast_asia&kind=state")) == {"JPN", "KOR", "MNG"}
    assert codes("?search=burma") == ["MMR"]
    Partner.objects.filter(code="MNG").update(active=False)
    assert "MNG" not in codes("?active=true&page_size=500")
    assert codes("?active=false") == ["MNG"]
    assert analyst.get(API + "partners/?kind=company").status_code == 400


def test_partner_writes_are_for_admins(analyst_ns, manager_ns, admin_ns):
    new = {"code": "PNG", "name": "Papua New Guinea", "kind": "state", "region": "oceania"}
    for user in (analyst_ns, manager_ns):
        client = client_for(user)
        assert client.post(API + "partners/", new).status_code == 403
        assert client.patch(API + "partners/JPN/", {"notes": "x"}).status_code == 403
        assert client.delete(API + "partners/JPN/").status_code == 403
    admin = client_for(admin_ns)
    assert admin.post(API + "partners/", new).status_code == 201
    assert admin.post(API + "partners/", new).json() == {
        "code": ["partner with this code already exists."]
    }
    assert admin.patch(API + "partners/PNG/", {"notes": "Pacific"}).json()["notes"] == "Pacific"
    assert admin.put(API + "partners/PNG/", {**new, "name": "PNG"}).json()["name"] == "PNG"
    assert admin.delete(API + "partners/PNG/").status_code == 204
    make_engagement(partners=["JPN"])
    assert admin.delete(API + "partners/JPN/").status_code == 409  # still referred to


# Engagements --------------------------------------------------------------------------


def test_engagement_shape(analyst_nu):
    engagement = make_engagement(
        partners=["JPN", "KOR"],
        pillars=["security"],
        facets=["security.cyber"],
        tips=[2],
        created_by=analyst_nu,
        location="Tokyo",
    )
    data = client_for(analyst_nu).get(f"{API}engagements/{engagement.pk}/").json()
    # The contract's fields, and the escalation review's decision (CONTRACT.md,
    # "Escalation review").
    assert set(data) == {*CONTRACT_FIELDS, "people", "review"}
    assert data["review"] is None
    assert data["partners"] == ["JPN", "KOR"]
    assert (data["pillars"], data["facets"], data["tips"]) == (
        ["security"],
        ["security.cyber"],
        [2],
    )
    assert (data["created_by"], data["version"], data["start_date"]) == (
        analyst_nu.username,
        1,
        "2025-06-01",
    )


def test_engagements_above_clearance_do_not_exist(analyst_nu):
    secret = make_engagement(marking="NC")
    visible = make_engagement(marking="NU")
    analyst = client_for(analyst_nu)
    assert [e["id"] for e in analyst.get(API + "engagements/").json()["results"]] == [visible.pk]
    for method in ("get", "put", "patch", "delete"):
        assert getattr(analyst, method)(f"{API}engagements/{secret.pk}/").status_code == 404
    assert Engagement.objects.filter(pk=secret.pk).exists()


def test_create_engagement_for_every_role(every_role):
    for name, user in every_role.items():
        response = client_for(user).post(API + "engagements/", body(title=f"By {name}"))
        assert response.status_code == 201, response.json()
        created = Engagement.objects.get(pk=response.json()["id"])
        assert created.created_by == user and created.version == 1
        assert {link.partner.code for link in created.partner_links.all()} == {"KOR", "JPN"}


def test_read_only_fields_cannot_be_written(analyst_nu):
    response = client_for(analyst_nu).post(
        API + "engagements/",
        body(id=999, version=7, created_by="someone", created_at="2000-01-01T00:00:00Z"),
    )
    data = response.json()
    assert response.status_code == 201
    assert data["id"] != 999 and data["version"] == 1 and data["created_by"] == analyst_nu.username


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"end_date": "2025-03-01"}, "end_date"),
        ({"facets": ["economic.trade"]}, "facets"),
        ({"partners": ["JPN", "ZZZ"]}, "partners"),
        ({"partners": []}, "partners"),
        ({"pillars": []}, "pillars"),
        ({"start_date": "2025-02-30"}, "start_date"),
        ({"kind": "picnic"}, "kind"),
        ({"marking": "NR"}, "marking"),
        ({"tips": [42]}, "tips"),
        ({"title": ""}, "title"),
    ],
    ids=[
        "end-before-start",
        "facet-outside-pillars",
        "unknown-partner",
        "no-partners",
        "no-pillars",
        "impossible-date",
        "unknown-kind",
        "marking-above-clearance",
        "unknown-tip",
        "empty-title",
    ],
)
def test_bad_engagements_are_400_naming_the_field(analyst_nu, overrides, field):
    response = client_for(analyst_nu).post(API + "engagements/", body(**overrides))
    assert response.status_code == 400
    errors = response.json()
    assert field in errors and all(isinstance(m, str) for m in errors[field])
    assert not Engagement.objects.exists()


def test_every_problem_is_reported_at_once(analyst_nu):
    response = client_for(analyst_nu).post(
        API + "engagements/", body(end_date="2025-03-01", facets=["economic.trade"], marking="NS")
    )
    assert set(response.json()) == {"end_date", "facets", "marking"}


def test_update_needs_the_version_and_refuses_a_stale_one(analyst_ns):
    engagement = make_engagement(partners=["JPN"], pillars=["security"])
    client = client_for(analyst_ns)
    url = f"{API}engagements/{engagement.pk}/"
    assert client.patch(url, {"title": "No version"}).json() == {
        "version": ["Send the version you read (or an If-Match header)."]
    }
    ok = client.patch(url, {"title": "First", "version": 1})
    assert ok.status_code == 200 and ok.json()["version"] == 2 and ok["ETag"] == '"2"'
    stale = client.patch(url, {"title": "Second", "version": 1})
    assert stale.status_code == 409
    engagement.refresh_from_db()
    assert (engagement.title, engagement.version) == ("First", 2)
    # If-Match carries the version instead of the body.
    assert client.patch(url, {"title": "Third"}, HTTP_IF_MATCH='"1"').status_code == 409
    assert client.patch(url, {"title": "Third"}, HTTP_IF_MATCH='"2"').status_code == 200
    full = client.put(url, body(version=3, partners=["AUS"]))
    assert full.status_code == 200 and full.json()["partners"] == ["AUS"]


def test_a_partial_update_keeps_the_rest_and_the_partner_roles(analyst_ns):
    engagement = make_engagement(
        partners=["JPN", "KOR"], pillars=["security"], facets=["security.cyber"]
    )
    client = client_for(analyst_ns)
    data = client.patch(
        f"{API}engagements/{engagement.pk}/", {"partners": ["JPN", "KOR", "AUS"], "version": 1}
    ).json()
    assert data["partners"] == ["JPN", "KOR", "AUS"] and data["facets"] == ["security.cyber"]
    roles = {link.partner.code: link.role for link in engagement.partner_links.all()}
    assert roles == {"JPN": "lead", "KOR": "participant", "AUS": "participant"}
    # Dropping the pillar a facet needs is refused.
    response = client.patch(
        f"{API}engagements/{engagement.pk}/", {"pillars": ["hadr"], "version": 2}
    )
    assert response.status_code == 400 and "facets" in response.json()


def test_delete_rules(analyst_nu, manager_ns, analyst_ns):
    own = make_engagement(created_by=analyst_nu)
    other = make_engagement(created_by=analyst_ns)
    analyst = client_for(analyst_nu)
    assert analyst.delete(f"{API}engagements/{other.pk}/?version=1").status_code == 403
    # A delete is a write: it carries the version read, and a stale one deletes nothing.
    assert analyst.delete(f"{API}engagements/{own.pk}/").status_code == 400
    assert analyst.delete(f"{API}engagements/{own.pk}/", HTTP_IF_MATCH='"2"').status_code == 409
    assert analyst.delete(f"{API}engagements/{own.pk}/", HTTP_IF_MATCH='"1"').status_code == 204
    manager = client_for(manager_ns)
    assert manager.delete(f"{API}engagements/{other.pk}/", {"version": 1}).status_code == 204
    assert not Engagement.objects.filter(pk__in=[own.pk, other.pk]).exists()


@pytest.mark.parametrize(
    "query, expected",
    [
        ("partner=JPN", {"jpn_sec", "jpn_kor"}),
        ("partner=JPN&partner=IDN", {"jpn_sec", "jpn_kor", "idn_hadr"}),
        ("pillar=hadr", {"idn_hadr"}),
        ("facet=security.cyber", {"jpn_sec"}),
        ("tip=4", {"idn_hadr"}),
        ("kind=exercise", {"jpn_kor"}),
        ("status=planned", {"idn_hadr"}),
        ("marking=NR", {"jpn_kor"}),
        ("escalation_risk=high", {"jpn_sec"}),
        ("region=southeast_asia", {"idn_hadr"}),
        ("start_after=2025-03-01", {"jpn_kor", "idn_hadr"}),
        ("start_before=2025-03-01", {"jpn_sec", "jpn_kor"}),
        ("search=tsunami", {"idn_hadr"}),
        ("search=SUBMARINE", {"jpn_kor"}),
    ],
)
def test_each_filter(analyst_ns, query, expected):
    made = {
        "jpn_sec": make_engagement(
            partners=["JPN"],
            pillars=["security"],
            facets=["security.cyber"],
            escalation_risk="high",
            start_date=datetime.date(2025, 1, 1),
        ),
        "jpn_kor": make_engagement(
            partners=["JPN", "KOR"],
            pillars=["dialogue"],
            kind="exercise",
            marking="NR",
            outcomes="Submarine rescue drill",
            start_date=datetime.date(2025, 3, 1),
        ),
        "idn_hadr": make_engagement(
            partners=["IDN"],
            pillars=["hadr"],
            tips=[4],
            status="planned",
            summary="Tsunami warning",
            start_date=datetime.date(2025, 5, 1),
        ),
    }
    names = {e.pk: name for name, e in made.items()}
    results = client_for(analyst_ns).get(f"{API}engagements/?{query}").json()["results"]
    assert {names[r["id"]] for r in results} == expected


def test_bad_filters_are_400(analyst_ns):
    client = client_for(analyst_ns)
    for query in [
        "start_after=yesterday",
        "partner=ZZZ",
        "kind=picnic",
        "page_size=501",
        "page_size=x",
        "cursor=%%%",
    ]:
        response = client.get(f"{API}engagements/?{query}")
        assert response.status_code == 400, query
        assert isinstance(response.json(), dict)


def test_cursor_pages_are_stable_and_complete(analyst_ns):
    made = [make_engagement(start_date=datetime.date(2025, 1, 1 + i % 4)) for i in range(11)]
    client = client_for(analyst_ns)
    seen, url = [], f"{API}engagements/?page_size=4"
    while url:
        page = client.get(url).json()
        seen += [r["id"] for r in page["results"]]
        url = page["next"]
    assert seen == [e.pk for e in sorted(made, key=lambda e: (e.start_date, e.pk), reverse=True)]
    ordered = client.get(f"{API}engagements/?ordering=title&page_size=500").json()["results"]
    assert [r["title"] for r in ordered] == sorted(e.title for e in made)


def test_list_query_counts_do_not_grow(analyst_ns, django_assert_max_num_queries):
    client = client_for(analyst_ns)

    def count(path):
        cache.clear()  # count a report computed afresh, not served from the cache
        core_cache.forget_local()
        with CaptureQueriesContext(connection) as queries:
            assert client.get(API + path).status_code == 200
        return len(queries)

    for _ in range(3):
        make_engagement(
            partners=["JPN", "KOR"], pillars=["security"], facets=["security.cyber"], tips=[1]
        )
    paths = [
        "engagements/",
        "partners/",
        "tips/",
        "pillars/",
        "tips/1/status/",
        "reports/coverage/",
        "reports/trend/",
        "reports/gaps/",
    ]
    for path in paths:
        count(path)  # warm up: the user's role is cached on the user after one request
    before = {path: count(path) for path in paths}
    for _ in range(11):  # 14 in all: a query per row or per relation would show
        make_engagement(partners=["AUS", "IDN"], pillars=["hadr", "dialogue"], tips=[2, 4])
    assert {path: count(path) for path in paths} == before
    # the page, then one query per relation: partner links with partners, pillars, facets,
    # tips, the people the reader may see
    assert before["engagements/"] == 6


# Reports ------------------------------------------------------------------------------


def test_report_endpoints_answer_with_the_numbers_worked_out_by_hand(analyst_nu):
    """One engagement the NU analyst may see (Japan, security, 2 February 2025) and one it
    may not (Indonesia, HADR, NS): every number below follows from these two."""
    make_engagement(partners=["JPN"], pillars=["security"], start_date=datetime.date(2025, 2, 2))
    make_engagement(
        partners=["IDN"], pillars=["hadr"], start_date=datetime.date(2025, 9, 9), marking="NS"
    )
    client = client_for(analyst_nu)
    pillars = ["dialogue", "security", "economic", "hadr"]
    active = set(Partner.objects.filter(active=True).values_list("code", flat=True))

    coverage = client.get(
        API + "reports/coverage/?start=2025-01-01&end=2025-12-31&rollup=members"
    ).json()
    assert (coverage["start"], coverage["end"], coverage["rollup"]) == (
        "2025-01-01",
        "2025-12-31",
        True,
    )
    assert coverage["pillars"] == pillars
    assert coverage["totals"] == {"dialogue": 0, "security": 1, "economic": 0, "hadr": 0}
    assert coverage["total"] == 1
    rows = {row["partner"]: row for row in coverage["rows"]}
    nothing = {pillar: {"count": 0, "last": None} for pillar in pillars}
    assert rows.pop("JPN") == {
        "partner": "JPN",
        "name": "Japan",
        "cells": {**nothing, "security": {"count": 1, "last": "2025-02-02"}},
        "total": 1,
    }
    # A row for every other active partner, empty: Indonesia's engagement is NS, and Japan
    # belongs to no organization it could roll up into.
    assert set(rows) == active - {"JPN"}
    assert all(row["cells"] == nothing and row["total"] == 0 for row in rows.values())

    trend = client.get(
        API + "reports/trend/?start=2025-01-01&end=2025-12-31&interval=quarter"
    ).json()
    zero = dict.fromkeys(pillars, 0)
    assert [
        (p["period"], p["start"], p["end"], p["counts"], p["total"], p["partial"])
        for p in trend["periods"]
    ] == [
        ("2025-Q1", "2025-01-01", "2025-03-31", {**zero, "security": 1}, 1, False),
        ("2025-Q2", "2025-04-01", "2025-06-30", zero, 0, False),
        ("2025-Q3", "2025-07-01", "2025-09-30", zero, 0, False),  # Indonesia's is NS
        ("2025-Q4", "2025-10-01", "2025-12-31", zero, 0, False),
    ]

    # Six months to the end of 2025 is July to December, with nothing the analyst may see
    # in it: every active partner lacks every pillar. Never met comes first, then the
    # dated gaps, oldest first: Japan's security (2 February) is the one dated gap.
    gaps = client.get(API + "reports/gaps/?months=6&as_of=2025-12-31").json()
    assert {(gap["partner"], gap["pillar"]) for gap in gaps} == {
        (code, pillar) for code in active for pillar in pillars
    }
    assert len(gaps) == 4 * len(active)
    assert gaps[-1] == {
        "partner": "JPN",
        "partner_name": "Japan",
        "pillar": "security",
        "pillar_name": "Shared Security Concerns",
        "last": "2025-02-02",
        "marking": "NU",  # of the engagement that set `last`
    }
    assert [gap["last"] for gap in gaps[:-1]] == [None] * (len(gaps) - 1)


@pytest.mark.parametrize(
    "path",
    [
        "reports/coverage/?start=2025-13-01",
        "reports/coverage/?status=maybe",
        "reports/coverage/?start=2025-05-01&end=2025-01-01",
        "reports/trend/?interval=week",
        "reports/gaps/?months=0",
        "reports/gaps/?as_of=nope",
        "reports/trend/?start=0001-01-01&end=2025-01-01",
    ],
)
def test_report_parameters_are_checked(analyst_nu, path):
    """Each bad parameter is a 400 naming it."""
    response = client_for(analyst_nu).get(API + path)
    assert response.status_code == 400 and isinstance(response.json(), dict)


# Authentication and docs ----------------------------------------------------------------


def test_token_authentication(analyst_nu):
    anonymous = client_for()
    response = anonymous.post(
        API + "auth/token/", {"username": analyst_nu.username, "password": PASSWORD}
    )
    token = response.json()["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get(API + "engagements/").status_code == 200
    client.credentials(HTTP_AUTHORIZATION="Token wrong")
    assert client.get(API + "engagements/").status_code == 401
    bad = anonymous.post(API + "auth/token/", {"username": analyst_nu.username, "password": "nope"})
    assert bad.status_code == 400


@pytest.mark.shared_cache
def test_the_token_endpoint_is_throttled():
    # Different names each time, so that the per-account lockout (axes) stays out of it.
    anonymous = client_for()
    answers = [
        anonymous.post(API + "auth/token/", {"username": f"guess{i}", "password": "x"}).status_code
        for i in range(12)
    ]
    assert answers[:10] == [400] * 10
    assert answers[10:] == [429, 429]


def test_repeated_wrong_passwords_lock_the_account_out_of_the_token_endpoint(analyst_nu, settings):
    name = analyst_nu.username
    anonymous = client_for()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = anonymous.post(API + "auth/token/", {"username": name, "password": "wrong"})
        assert response.status_code == 400
    locked = anonymous.post(API + "auth/token/", {"username": name, "password": "wrong"})
    assert locked.status_code == 429
    assert "Too many failed sign-in attempts" in locked.json()["detail"]
    cache.clear()  # the DRF rate limit is not what is tested here
    # Even the right password is refused during the cool-off.
    right = anonymous.post(API + "auth/token/", {"username": name, "password": PASSWORD})
    assert right.status_code == 429


def test_session_writes_need_csrf(analyst_nu):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(analyst_nu)
    assert client.get(API + "engagements/").status_code == 200
    assert client.post(API + "engagements/", body(), format="json").status_code == 403


def test_schema_and_docs_work_offline(client, analyst_nu):
    client.force_login(analyst_nu)
    schema = client.get(API + "schema/?format=json").json()
    for path in [
        "/api/v1/engagements/",
        "/api/v1/engagements/{id}/",
        "/api/v1/partners/{code}/",
        "/api/v1/tips/{number}/status/",
        "/api/v1/reports/coverage/",
        "/api/v1/pillars/",
        "/api/v1/auth/token/",
        "/api/v1/auth/logout/",
    ]:
        assert path in schema["paths"], path
    params = {p["name"] for p in schema["paths"]["/api/v1/engagements/"]["get"]["parameters"]}
    assert {
        "partner",
        "pillar",
        "facet",
        "tip",
        "kind",
        "status",
        "marking",
        "escalation_risk",
        "region",
        "start_after",
        "start_before",
        "search",
        "ordering",
        "cursor",
        "page_size",
    } <= params
    docs = client.get(API + "docs/").content.decode()
    assert not re.search(r"(src|href)=\"https?://", docs), "the docs page must not reach out"
    assets = re.findall(r"/static/([^\"']+)", docs)
    assert assets and all(finders.find(asset) for asset in assets)


def test_reports_survive_the_edges_of_the_calendar(analyst_nu):
    client = client_for(analyst_nu)
    assert client.get(API + "reports/gaps/?months=89&as_of=0003-05-08").status_code == 200
    assert client.get(API + "reports/coverage/?start=9950-01-01&end=9999-12-31").status_code == 200
    # More than 50 years is refused (CONTRACT.md, "Errors"), whichever ends are given.
    assert client.get(API + "reports/coverage/?start=0001-01-01&end=9999-12-31").status_code == 400


def test_null_characters_are_refused_not_crashed_on(analyst_nu, client):
    """Found by the fuzzer on PostgreSQL, which cannot even look up a NUL character."""
    api = client_for(analyst_nu)
    assert api.get(API + "partners/J%00PN/").status_code == 400
    assert api.get(API + "engagements/?partner=J%00PN").status_code == 400
    response = api.post(API + "engagements/", body(partners=["J\x00PN"], facets=["x\x00"]))
    assert response.status_code == 400 and {"partners", "facets"} <= set(response.json())
    client.force_login(analyst_nu)
    assert client.get("/engagements/?search=%00").status_code == 400
    assert Engagement.objects.count() == 0


@pytest.mark.parametrize("report", ["coverage", "trend", "gaps"])
def test_a_report_kept_as_json_is_what_drf_renders_and_moves_with_a_write(
    report, analyst_nu, analyst_ns
):
    """A cached report's answer is kept as the JSON it is sent as: the same document as an
    indented answer (rendered afresh by DRF), per reader's clearance, new after a write."""
    recently = {"status": "completed", "start_date": datetime.date.today() - datetime.timedelta(9)}
    make_engagement(partners=["JPN"], pillars=["security"], **recently)
    make_engagement(partners=["IDN"], pillars=["hadr"], marking="NS", **recently)
    path = f"{API}reports/{report}/?months=6" if report == "gaps" else f"{API}reports/{report}/"
    nu, ns = client_for(analyst_nu), client_for(analyst_ns)

    def answers(client):
        kept = client.get(path)
        indented = client.get(path, HTTP_ACCEPT="application/json; indent=2")
        assert kept["Content-Type"] == indented["Content-Type"] == "application/json"
        assert b"\n" in indented.content and b"\n" not in kept.content
        assert kept.json() == indented.json()
        return kept.json()

    before_nu, before_ns = answers(nu), answers(ns)
    assert before_nu != before_ns  # the NS engagement counts for the NS reader alone
    assert answers(nu) == before_nu  # served again from what was kept
    make_engagement(partners=["KOR"], pillars=["dialogue"], **recently)
    assert answers(nu) != before_nu
