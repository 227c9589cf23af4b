import csv
import datetime
import io

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from accounts.choices import Marking
from engagements.models import Engagement
from engagements.services import save_engagement
from roadmap.models import TipStatusUpdate
from tests.factories import make_engagement

pytestmark = pytest.mark.usefixtures("reference_data")

PAGES = [
    "/",
    "/engagements/",
    "/engagements/new/",
    "/partners/",
    "/partners/JPN/",
    "/partners/ASEAN/",
    "/roadmap/",
    "/roadmap/tips/1/",
    "/reports/coverage/",
    "/reports/trend/",
    "/reports/gaps/",
]


def form_data(**overrides):
    data = {
        "title": "Maritime domain awareness talks",
        "kind": "staff_talks",
        "status": "completed",
        "start_date": "2025-05-10",
        "end_date": "2025-05-11",
        "location": "Tokyo",
        "partners": ["JPN", "KOR"],
        "lead_partner": "JPN",
        "pillars": [],
        "facets": [],
        "tips": [],
        "marking": "NU",
        "escalation_risk": "low",
        "summary": "Talks.",
        "outcomes": "",
    }
    data.update(overrides)
    return data


def pillar_ids(*codes):
    from roadmap.models import Facet, Pillar

    return [str(Pillar.objects.get(code=code).pk) for code in codes if "." not in code] + [
        str(Facet.objects.get(code=code).pk) for code in codes if "." in code
    ]


def test_anonymous_users_are_sent_to_sign_in(client):
    for url in PAGES + ["/engagements/1/", "/engagements/1/edit/", "/engagements/1/delete/"]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith("/accounts/login/?next="), url
    assert client.get("/accounts/login/").status_code == 200


def test_every_page_answers_for_every_role(client, every_role):
    engagement = make_engagement(partners=["JPN"], pillars=["security"], tips=[1])
    for name, user in every_role.items():
        client.force_login(user)
        for url in PAGES + [engagement.get_absolute_url(), f"/engagements/{engagement.pk}/edit/"]:
            assert client.get(url).status_code == 200, (name, url)


def test_hidden_engagements_are_404_everywhere(client, analyst_nu):
    secret = make_engagement(marking=Marking.NS, title="Quiet harbour visit")
    client.force_login(analyst_nu)
    for suffix in ("", "edit/", "delete/"):
        assert client.get(f"/engagements/{secret.pk}/{suffix}").status_code == 404
    assert client.post(f"/engagements/{secret.pk}/delete/").status_code == 404
    assert Engagement.objects.filter(pk=secret.pk).exists()


def test_nothing_above_clearance_leaks_into_pages_or_downloads(client, analyst_nu):
    words = {}
    for marking in ("NR", "NC", "NS"):
        words[marking] = f"Codeword{marking}Zephyr"
        make_engagement(
            marking=marking,
            title=words[marking],
            summary=words[marking],
            partners=["JPN"],
            start_date=timezone.localdate() - datetime.timedelta(days=3),
            created_by=analyst_nu,
        )
    make_engagement(marking="NU", title="Open seminar", partners=["JPN"])
    client.force_login(analyst_nu)
    urls = PAGES + [
        "/engagements/?search=Codeword",
        "/engagements/?format=csv",
        "/partners/JPN/",
        "/reports/coverage/?format=csv",
    ]
    for url in urls:
        response = client.get(url)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        for word in words.values():
            assert word.encode() not in body, url
    xlsx = client.get("/engagements/?format=xlsx")
    cells = [c for row in load_workbook(io.BytesIO(xlsx.content)).active.values for c in row]
    assert not any(str(cell).startswith("Codeword") for cell in cells)
    assert "Open seminar" in cells


def test_analyst_logs_an_engagement(client, analyst_nu):
    client.force_login(analyst_nu)
    data = form_data(
        pillars=pillar_ids("security", "dialogue"),
        facets=pillar_ids("security.maritime"),
        tips=["1"],
    )
    response = client.post("/engagements/new/", data)
    assert response.status_code == 302, (
        response.context["form"].errors,
        response.context["duplicates"],
    )
    engagement = Engagement.objects.get(title=data["title"])
    assert response.status_code == 302 and response.url == engagement.get_absolute_url()
    links = {link.partner.code: link.role for link in engagement.partner_links.all()}
    assert links == {"JPN": "lead", "KOR": "participant"}
    assert set(engagement.pillars.values_list("code", flat=True)) == {"security", "dialogue"}
    assert engagement.created_by == analyst_nu and engagement.version == 1
    page = client.get(engagement.get_absolute_url()).content.decode()
    assert "Republic of Korea" in page and "Maritime Security" in page


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"end_date": "2025-05-01"}, "end_date", "The end date cannot be before the start date."),
        (
            {"facets": "economic.trade"},
            "facets",
            "“Trade and Investment” belongs to the pillar “Economic Cooperation”, "
            "which is not chosen.",
        ),
        (
            {"marking": "NS"},
            "marking",
            "Select a valid choice. NS is not one of the available choices.",
        ),
        ({"partners": []}, "partners", "This field is required."),
        ({"pillars": []}, "pillars", "This field is required."),
        ({"start_date": "2025-02-30"}, "start_date", "Enter a valid date."),
    ],
)
def test_form_rules_are_shown_beside_their_fields(client, analyst_nu, overrides, field, message):
    client.force_login(analyst_nu)
    data = form_data(pillars=pillar_ids("security"))
    if "facets" in overrides:
        overrides["facets"] = pillar_ids(overrides["facets"])
    data.update(overrides)
    response = client.post("/engagements/new/", data)
    assert response.status_code == 200
    assert response.context["form"].errors[field] == [message]
    assert message in response.content.decode()  # shown on the page, not only in the form
    assert b"Maritime domain awareness talks" in response.content  # the input is kept
    assert not Engagement.objects.exists()


def test_marking_choices_are_capped_at_clearance(client, analyst_nu):
    client.force_login(analyst_nu)
    choices = client.get("/engagements/new/").context["form"].fields["marking"].choices
    assert [value for value, _ in choices] == ["NU"]


def test_possible_duplicate_is_flagged_before_saving(client, analyst_nu):
    existing = make_engagement(
        title="Maritime domain awareness staff talks",
        partners=["KOR"],
        start_date=datetime.date(2025, 5, 11),
    )
    client.force_login(analyst_nu)
    data = form_data(pillars=pillar_ids("security"))
    response = client.post("/engagements/new/", data)
    assert response.status_code == 200
    assert [other for other, _ in response.context["duplicates"]] == [existing]
    assert b"Possible duplicate" in response.content
    assert Engagement.objects.count() == 1
    response = client.post("/engagements/new/", {**data, "confirm_duplicate": "1"})
    assert response.status_code == 302
    assert Engagement.objects.count() == 2


def test_a_stale_edit_overwrites_nothing(client, analyst_ns, manager_ns):
    engagement = make_engagement(title="Original", partners=["JPN"], pillars=["security"])
    client.force_login(analyst_ns)
    form = client.get(f"/engagements/{engagement.pk}/edit/").context["form"]
    assert form.initial["version"] == 1
    # Someone else saves first.
    save_engagement(manager_ns, {"title": "Saved by a colleague"}, engagement.pk, 1)
    data = form_data(title="My edit", pillars=pillar_ids("security"), version="1")
    response = client.post(f"/engagements/{engagement.pk}/edit/", data)
    assert response.status_code == 200
    assert "Someone else saved “Saved by a colleague”".encode() in response.content
    assert b"Saved by a colleague" in response.content and b"My edit" in response.content
    engagement.refresh_from_db()
    assert (engagement.title, engagement.version) == ("Saved by a colleague", 2)
    # Saving again, knowingly, on top of version 2 works.
    assert response.context["current"].version == 2  # the screen offers to save on top of it
    response = client.post(f"/engagements/{engagement.pk}/edit/", {**data, "version": "2"})
    assert response.status_code == 302
    engagement.refresh_from_db()
    assert (engagement.title, engagement.version) == ("My edit", 3)


def test_delete_rules(client, analyst_nu, manager_ns, analyst_ns):
    own = make_engagement(created_by=analyst_nu)
    other = make_engagement(created_by=analyst_ns)
    client.force_login(analyst_nu)
    assert client.post(f"/engagements/{other.pk}/delete/", {"version": 1}).status_code == 403
    # The confirmation page carries the version it showed; a stale one deletes nothing.
    page = client.get(f"/engagements/{own.pk}/delete/").content.decode()
    assert 'name="version" value="1"' in page
    response = client.post(f"/engagements/{own.pk}/delete/", {"version": 2}, follow=True)
    assert "Nothing was deleted" in response.content.decode()
    assert Engagement.objects.filter(pk=own.pk).exists()
    assert client.post(f"/engagements/{own.pk}/delete/", {"version": 1}).status_code == 302
    client.force_login(manager_ns)
    assert client.post(f"/engagements/{other.pk}/delete/", {"version": 1}).status_code == 302
    assert not Engagement.objects.exists()


def test_tip_status_is_for_managers_and_admins(client, analyst_ns, manager_ns):
    client.force_login(analyst_ns)
    assert client.get("/roadmap/tips/2/").context["form"] is None
    assert client.post("/roadmap/tips/2/", {"status": "on_track"}).status_code == 403
    client.force_login(manager_ns)
    response = client.post("/roadmap/tips/2/", {"status": "at_risk", "note": "Slipping"})
    assert response.status_code == 302
    update = TipStatusUpdate.objects.get()
    assert (update.status, update.note, update.created_by) == (
        "at_risk",
        "Slipping",
        manager_ns,
    )
    assert b"At risk" in client.get("/roadmap/").content


def test_filters_and_downloads_hold_the_same_rows(client, analyst_ns):
    japan_security = make_engagement(partners=["JPN"], pillars=["security"], kind="exercise")
    make_engagement(partners=["KOR"], pillars=["security"])
    indonesia = make_engagement(partners=["IDN"], pillars=["hadr"], kind="exercise")
    client.force_login(analyst_ns)
    query = "?partner=JPN&partner=IDN&kind=exercise"
    listed = [e.pk for e in client.get("/engagements/" + query).context["page"]]
    assert sorted(listed) == sorted([japan_security.pk, indonesia.pk])
    response = client.get("/engagements/" + query + "&format=csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:5] == ["id", "title", "kind", "status", "start_date"]
    assert [int(row[0]) for row in rows[1:]] == listed
    xlsx = load_workbook(io.BytesIO(client.get("/engagements/" + query + "&format=xlsx").content))
    assert [row[0] for row in list(xlsx.active.values)[1:]] == listed
    assert [e.pk for e in client.get("/engagements/?region=southeast_asia").context["page"]] == [
        indonesia.pk
    ]


def test_keyset_pages_walk_the_whole_list(client, analyst_ns):
    made = [make_engagement(start_date=datetime.date(2025, 1, 1 + i % 3)) for i in range(7)]
    client.force_login(analyst_ns)
    seen, url = [], "/engagements/?page_size=3&ordering=start_date"
    while url:
        page = client.get(url).context["page"]
        seen += [e.pk for e in page]
        url = (
            f"/engagements/?page_size=3&ordering=start_date&cursor={page.next_cursor}"
            if page.next_cursor
            else None
        )
    expected = [e.pk for e in sorted(made, key=lambda e: (e.start_date, e.pk))]
    assert seen == expected
    back = client.get(
        f"/engagements/?page_size=3&ordering=start_date&cursor={page.previous_cursor}"
    )
    assert [e.pk for e in back.context["page"]] == expected[3:6]


def count_queries(client, url):
    cache.clear()  # count reports computed afresh, not served from the cache
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize(
    "url",
    ["/engagements/", "/partners/JPN/", "/roadmap/", "/roadmap/tips/1/", "/", "/reports/coverage/"],
)
def test_query_counts_do_not_grow_with_rows(client, manager_ns, url):
    """A page costs the same queries with 14 engagements as with 2: nothing is read per row
    or per relation. They start in the last weeks, where the dashboard and the reports'
    default period count them, and the later ones bring other partners, pillars and tips."""
    recent = timezone.localdate() - datetime.timedelta(days=10)

    def log(count, partners, pillars, tips):
        for _ in range(count):
            make_engagement(
                partners=partners,
                pillars=pillars,
                tips=tips,
                start_date=recent,
                created_by=manager_ns,
            )

    log(2, partners=["JPN", "KOR"], pillars=["security", "hadr"], tips=[1])
    client.force_login(manager_ns)
    client.get(url)  # what only the first request after signing in does is not counted
    few = count_queries(client, url)
    log(12, partners=["JPN", "AUS"], pillars=["dialogue"], tips=[1, 2])
    assert count_queries(client, url) == few


@pytest.mark.parametrize(
    "query, expected",
    [
        ("", 5),
        ("page_size=2&cursor=next", 5),
        # A search first looks for partners it names (one query over the directory).
        ("search=engagement&partner=JPN&partner=KOR&pillar=security&page_size=2", 8),
    ],
)
def test_engagement_list_query_count(
    client, analyst_ns, django_assert_num_queries, query, expected
):
    for _ in range(5):
        make_engagement(partners=["JPN", "KOR"], pillars=["security"], facets=["security.cyber"])
    client.force_login(analyst_ns)
    if "cursor=next" in query:
        next_cursor = client.get("/engagements/?page_size=2").context["page"].next_cursor
        query = query.replace("cursor=next", f"cursor={next_cursor}")
    # Seen before, with nothing changed since: session, user (its groups and permissions,
    # for the role and "Log engagement" in the header, read once: User.access); the filter's
    # lookups of the codes given (partners, pillar); the data stamp (the key of what is
    # cached); the page; the header's count of unread notifications. The
    # count, the filter panel and the rows come from the cache, the user's saved views
    # from the session.
    client.get(f"/engagements/?{query}")
    with django_assert_num_queries(expected):
        assert client.get(f"/engagements/?{query}").status_code == 200
    # The first time: also the rows' partner links and pillars (engagements.tables), the
    # bounded count of matching rows (on PostgreSQL in a savepoint with a statement
    # timeout of its own: SAVEPOINT, the timeout set and restored, RELEASE) and the filter
    # panel's options: partners, pillars, facets, tips, and the bulk bar's, once each.
    cache.clear()
    cold = expected + 2 + 1 + (4 if connection.vendor == "postgresql" else 0) + 4 + 4
    with django_assert_num_queries(cold):
        assert client.get(f"/engagements/?{query}").status_code == 200
    assert reverse("engagements:list") == "/engagements/"


def test_edit_form_shows_dates_the_date_picker_understands(client, analyst_ns):
    engagement = make_engagement(start_date=datetime.date(2025, 9, 15))
    client.force_login(analyst_ns)
    page = client.get(f"/engagements/{engagement.pk}/edit/").content.decode()
    assert 'type="date" name="start_date" value="2025-09-15"' in page


def test_manager_dashboard_shows_heat_map_gaps_and_tip_board(client, manager_ns, analyst_ns):
    make_engagement(partners=["JPN"], pillars=["security"], start_date=timezone.localdate())
    client.force_login(manager_ns)
    response = client.get("/")
    assert response.context["coverage"]["total"] == 1
    assert len(response.context["gaps"]["gaps"]) == 5
    assert [row["number"] for row in response.context["tip_board"]] == [1, 2, 3, 4, 5, 6]
    assert b"Five stalest gaps" in response.content
    client.force_login(analyst_ns)
    response = client.get("/")
    assert "coverage" not in response.context and b"Five stalest gaps" not in response.content
    assert b"Log engagement" in response.content


def test_dashboard_counts_this_month_and_quarter_without_cancelled(client, analyst_nu):
    today = timezone.localdate()
    make_engagement(pillars=["hadr"], start_date=today, status="planned")
    make_engagement(pillars=["hadr", "security"], start_date=today, status="completed")
    make_engagement(pillars=["hadr"], start_date=today, status="cancelled")
    make_engagement(pillars=["hadr"], start_date=today, marking="NS")
    client.force_login(analyst_nu)
    rows = {
        code: (month, quarter) for code, _, month, quarter in client.get("/").context["per_pillar"]
    }
    assert rows["hadr"] == (2, 2) and rows["security"] == (1, 1) and rows["economic"] == (0, 0)


def test_detail_page_query_count_does_not_grow_with_relations(client, analyst_ns):
    few = make_engagement(partners=["JPN"], pillars=["security"], facets=["security.cyber"])
    many = make_engagement(
        partners=["JPN", "KOR", "AUS", "IDN", "PHL", "VNM"],
        pillars=["security", "hadr", "dialogue", "economic"],
        facets=["security.cyber", "security.maritime", "hadr.coordination", "economic.trade"],
        tips=[1, 2, 3, 4],
    )
    for engagement in (few, many):
        engagement.title += " (edited)"
        engagement.save()  # a history entry each, so both pages show one
    client.force_login(analyst_ns)
    client.get("/")  # the user's role and permissions are read once (User.access)
    assert count_queries(client, f"/engagements/{few.pk}/") == count_queries(
        client, f"/engagements/{many.pk}/"
    )
