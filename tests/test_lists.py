"""The engagement list as people meet it (issue 12, item 5 and the chips of item 6):
how many rows match, chips for the active filters by name, a collapsible filter panel,
recent work first, and saved views."""

import datetime
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.choices import Marking, Role
from accounts.models import SavedView
from engagements import views
from engagements.models import Engagement
from tests.factories import make_engagement, make_user

pytestmark = pytest.mark.usefixtures("reference_data")


def page_text(response):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


@pytest.fixture
def reader(analyst_nr):
    """Who reads the list: the cast's analyst cleared NR."""
    return analyst_nr


def test_the_list_says_how_many_rows_match(client, reader):
    for _ in range(3):
        make_engagement(partners=["IDN"])
    make_engagement(partners=["JPN"])
    make_engagement(partners=["IDN"], marking="NS")  # above the reader: not counted
    client.force_login(reader)
    assert "3 engagements match." in page_text(client.get("/engagements/?partner=IDN"))
    assert "1 engagement matches." in page_text(client.get("/engagements/?partner=JPN"))
    assert "0 engagements match." in page_text(client.get("/engagements/?partner=KOR"))


def test_past_the_limit_it_says_more_than(client, reader, monkeypatch):
    monkeypatch.setattr(views, "LIST_COUNT_LIMIT", 3)
    for _ in range(5):
        make_engagement()
    client.force_login(reader)
    assert "More than 3 engagements match." in page_text(client.get("/engagements/"))


def test_the_count_never_counts_the_whole_table(client, reader):
    """One bounded subquery: COUNT(*) over at most 10,001 ids, whatever the filters."""
    make_engagement()
    client.force_login(reader)
    with CaptureQueriesContext(connection) as queries:
        client.get("/engagements/?pillar=dialogue")
    counts = [
        q["sql"]
        for q in queries
        if "COUNT(" in q["sql"].upper() and "notifications_notification" not in q["sql"]
    ]
    assert len(counts) == 1
    assert "LIMIT 10001" in counts[0]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a statement timeout: PostgreSQL")
def test_a_count_that_takes_too_long_gives_up_and_the_page_still_answers(
    client, reader, monkeypatch
):
    """A count past LIST_COUNT_TIMEOUT is cancelled by PostgreSQL: the page says "many"
    and goes on in the same transaction, with the timeout gone again."""
    make_engagement(title="Slow to count")
    monkeypatch.setattr(views, "LIST_COUNT_TIMEOUT", "20ms")
    sleepy = Engagement.objects.extra(where=["pg_sleep(0.2) IS NOT NULL"])
    assert views.bounded_count(sleepy) is None
    assert views.count_label(None) == "Many engagements match (too many to count quickly)."
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "0"
    slow = views.bounded_count
    monkeypatch.setattr(
        views,
        "bounded_count",
        lambda rows: slow(rows.extra(where=["pg_sleep(0.2) IS NOT NULL"])),
    )
    client.force_login(reader)
    page = page_text(client.get("/engagements/"))
    assert "Many engagements match (too many to count quickly)." in page
    assert "Slow to count" in page


def test_chips_name_each_active_filter_and_remove_it_in_one_click(client, reader):
    indonesia = make_engagement(partners=["IDN"], facets=["dialogue.information-sharing"])
    make_engagement(partners=["IDN"])
    client.force_login(reader)
    response = client.get(
        "/engagements/?partner=IDN&partner=JPN&facet=dialogue.information-sharing"
        "&status=completed&kind=staff_talks&start_before="
    )
    chips = {(c["label"], c["value"]): c["url"] for c in response.context["chips"]}
    assert set(chips) == {
        ("Partners", "Indonesia"),
        ("Partners", "Japan"),
        ("Facet", "Information Sharing"),
        ("Status", "Completed"),
        ("Kind", "Staff talks"),
    }
    html = response.content.decode()
    assert "Partners: Indonesia" in html and "Facet: Information Sharing" in html
    assert [e.pk for e in response.context["page"]] == [indonesia.pk]
    # Removing one partner keeps the other and every other filter.
    without_indonesia = chips[("Partners", "Indonesia")]
    assert "partner=IDN" not in without_indonesia and "partner=JPN" in without_indonesia
    assert "facet=dialogue.information-sharing" in without_indonesia
    without_facet = client.get("/engagements/" + chips[("Facet", "Information Sharing")])
    assert without_facet.context["count"] == 2


def test_it_opens_on_work_up_to_today_newest_first(client, reader):
    """The default: engagements starting up to today, newest first (not next year's
    plans); it shows as a chip, and removing it shows every date."""
    today = timezone.localdate()
    planned = make_engagement(status="planned", start_date=today + datetime.timedelta(days=400))
    recent = make_engagement(start_date=today - datetime.timedelta(days=3))
    older = make_engagement(start_date=today - datetime.timedelta(days=300))
    client.force_login(reader)
    response = client.get("/engagements/")
    assert [e.pk for e in response.context["page"]] == [recent.pk, older.pk]
    (chip,) = response.context["chips"]
    assert chip["value"] == f"{today.isoformat()} (default: up to today)"
    assert chip["url"] == "?start_before="
    everything = client.get("/engagements/?start_before=")
    assert [e.pk for e in everything.context["page"]] == [planned.pk, recent.pk, older.pk]
    assert everything.context["chips"] == []


def test_any_filter_or_search_searches_every_date(client, reader):
    """The default "up to today" is only for the list opened bare: a plan logged a minute
    ago is found by a search, and the panel does not carry the default into the search."""
    today = timezone.localdate()
    planned = make_engagement(
        title="Harbour pilot exchange",
        status="planned",
        start_date=today + datetime.timedelta(days=40),
    )
    client.force_login(reader)
    bare = client.get("/engagements/")
    assert planned.pk not in [e.pk for e in bare.context["page"]]
    assert 'name="start_before" value=' not in bare.content.decode()  # a chip, not a value
    found = client.get("/engagements/?search=harbour")
    assert [e.pk for e in found.context["page"]] == [planned.pk]
    assert [chip["name"] for chip in found.context["chips"]] == ["search"]
    # As the panel sends it: every field, most of them empty.
    sent = client.get("/engagements/?search=harbour&start_before=&kind=&page_size=50")
    assert [e.pk for e in sent.context["page"]] == [planned.pk]
    assert [e.pk for e in client.get("/engagements/?status=planned").context["page"]] == [
        planned.pk
    ]


@pytest.mark.parametrize("word", ["Hanoi", "hanoi", "Vietnam", "Viet Nam", "VNM", "vnm"])
def test_search_finds_the_location_and_a_partner_by_name_code_or_other_name(client, reader, word):
    hanoi = make_engagement(title="Staff talks", partners=["VNM"], location="Hanoi")
    make_engagement(title="Staff talks", partners=["JPN"], location="Tokyo")
    client.force_login(reader)
    assert [e.pk for e in client.get(f"/engagements/?search={word}").context["page"]] == [hanoi.pk]
    api = client.get(f"/api/v1/engagements/?search={word}").json()["results"]
    assert [row["id"] for row in api] == [hanoi.pk]


def test_the_partner_filter_box_knows_codes_and_other_names(client, reader):
    client.force_login(reader)
    page = client.get("/engagements/").content.decode()
    assert '<option value="VNM" data-code="VNM" data-aliases="Vietnam">Viet Nam</option>' in page


def test_the_filter_panel_folds_away(client, reader):
    client.force_login(reader)
    html = client.get("/engagements/").content.decode()
    # Open without JavaScript; app.js closes it on a narrow screen (tests/e2e).
    assert '<details class="filter-panel card" id="filter-panel" open data-close-narrow>' in html
    assert "<summary>Filters (1 active)</summary>" in html


def test_a_saved_view_is_named_found_in_the_navigation_and_deleted(client, reader):
    client.force_login(reader)
    query = "partner=IDN&pillar=security&ordering=-marking&cursor=abc"
    response = client.post(
        "/saved-views/new/", {"name": "Indonesia security", "query": query}, follow=True
    )
    view = SavedView.objects.get(user=reader)
    # The page position is not part of a view; the sort is.
    assert view.query == "partner=IDN&pillar=security&ordering=-marking"
    assert response.redirect_chain[-1][0] == "/engagements/?" + view.query
    # In the navigation of every page, with its link (shareable: it is the list's URL).
    nav = client.get("/reports/trend/").content.decode()
    assert (
        '<a href="/engagements/?partner=IDN&amp;pillar=security&amp;ordering=-marking">'
        "Indonesia security</a>" in nav
    )
    # A second one with the same name is refused with a message, nothing stored.
    response = client.post("/saved-views/new/", {"name": "Indonesia security", "query": ""})
    assert SavedView.objects.filter(user=reader).count() == 1
    assert "already have a saved view" in page_text(client.get(response.url))
    # Only its owner sees and deletes it.
    other = make_user(Role.MANAGER, Marking.NS)
    client.force_login(other)
    assert "Indonesia security" not in client.get("/saved-views/").content.decode()
    assert client.post(f"/saved-views/{view.pk}/delete/").status_code == 404
    client.force_login(reader)
    assert "Indonesia security" in client.get("/saved-views/").content.decode()
    assert client.post(f"/saved-views/{view.pk}/delete/").status_code == 302
    assert not SavedView.objects.exists()
    client.get("/saved-views/")  # shows the message "Deleted …"
    assert "Indonesia security" not in client.get("/engagements/").content.decode()


def test_saved_views_are_in_the_navigation_from_sign_in(client, reader):
    SavedView.objects.create(user=reader, name="Mine", query="status=planned")
    client.force_login(reader)  # signing in fills the navigation
    assert '<a href="/engagements/?status=planned">Mine</a>' in client.get("/").content.decode()


def test_saved_views_query_count(client, reader, django_assert_num_queries):
    for number in range(5):
        SavedView.objects.create(user=reader, name=f"View {number}", query="status=planned")
    client.force_login(reader)
    # session, user, its groups and permissions (role and "Log engagement" in the header),
    # the saved views, the header's count of unread notifications
    with django_assert_num_queries(5):
        assert client.get("/saved-views/").status_code == 200


def test_a_view_shared_with_the_team_is_listed_for_everyone_with_its_owner(client, reader):
    colleague = make_user(Role.MANAGER, Marking.NS, username="colleague")
    theirs = Client()
    theirs.force_login(colleague)
    theirs.post(
        "/saved-views/new/", {"name": "Maritime plans", "query": "pillar=security", "shared": "on"}
    )
    theirs.post("/saved-views/new/", {"name": "Mine only", "query": "status=planned"})
    client.force_login(reader)
    page = client.get("/saved-views/").content.decode()
    assert "Maritime plans" in page and "colleague" in page and "Mine only" not in page
    assert "Maritime plans (colleague)" in [name for _, name, _ in client.session["saved_views"]]
    # Only its owner renames, unshares or deletes it.
    shared = SavedView.objects.get(name="Maritime plans")
    assert client.post(f"/saved-views/{shared.pk}/change/", {"name": "Mine now"}).status_code == 404
    assert client.post(f"/saved-views/{shared.pk}/delete/").status_code == 404
    theirs.post(f"/saved-views/{shared.pk}/change/", {"name": "Sea lanes"})  # unshared
    shared.refresh_from_db()
    assert (shared.name, shared.shared) == ("Sea lanes", False)
    assert "Sea lanes" not in client.get("/saved-views/").content.decode()


def test_the_list_opens_on_the_default_view_until_it_is_cleared(client, reader):
    colleague = make_user(Role.MANAGER, Marking.NS, username="colleague")
    team = SavedView.objects.create(
        user=colleague, name="Team plans", query="status=planned", shared=True
    )
    client.force_login(reader)
    assert client.post("/saved-views/default/", {"view": team.pk}).status_code == 302
    response = client.get("/engagements/")
    assert response.status_code == 302 and response.url == "/engagements/?status=planned"
    assert "your list opens here" in client.get("/saved-views/").content.decode()
    # Any explicit query is answered as asked.
    assert client.get("/engagements/?start_before=").status_code == 200
    client.post("/saved-views/default/", {"view": ""})
    assert client.get("/engagements/").status_code == 200
    # Someone else's unshared view cannot be one's default.
    private = SavedView.objects.create(user=colleague, name="Private", query="kind=exercise")
    assert client.post("/saved-views/default/", {"view": private.pk}).status_code == 404


def filter_options(client, name):
    """The (value, label) options of one filter on the list page."""
    page = client.get("/engagements/").content.decode()
    select = re.search(rf'<select name="{name}".*?</select>', page, re.S)[0]
    return re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select)


def test_the_filter_panel_comes_from_the_cache_and_follows_every_change(client, reader):
    from partners.models import Partner
    from roadmap.models import Pillar

    client.force_login(reader)
    assert ("JPN", "Japan") in filter_options(client, "partner")
    with CaptureQueriesContext(connection) as queries:
        client.get("/engagements/")
    drawn_from = " ".join(q["sql"] for q in queries)
    assert '"partners_partner"' not in drawn_from and '"roadmap_facet"' not in drawn_from
    # Other filters, another panel: what is chosen shows as chosen.
    page = client.get("/engagements/?partner=KOR&search=port").content.decode()
    assert '<option value="KOR" selected data-code="KOR"' in page and 'value="port"' in page
    assert '<option value="KOR" selected>' not in client.get("/engagements/").content.decode()

    # Each change shows on the very next page, whoever made it (the data stamp moves).
    Partner.objects.create(code="TLA", name="Atlantis", kind="state", region="southeast_asia")
    assert ("TLA", "Atlantis") in filter_options(client, "partner")
    japan = Partner.objects.get(code="JPN")
    japan.active = False
    japan.save()
    assert ("JPN", "Japan (inactive)") in filter_options(client, "partner")
    pillar = Pillar.objects.get(code="hadr")
    pillar.name = "Disaster relief"
    pillar.save()
    assert ("hadr", "Disaster relief") in filter_options(client, "pillar")


def test_the_list_reads_only_what_its_table_shows(client, reader):
    """The page's query reads the shown columns, sort keys and version, not the texts and
    times; the rows still show everything (no query per row for a deferred field)."""
    for number in range(3):
        make_engagement(title=f"Talks {number}", summary="A long summary " * 50)
    client.force_login(reader)
    with CaptureQueriesContext(connection) as queries:
        page = page_text(client.get("/engagements/"))
    assert "Talks 0" in page and "Talks 2" in page
    (rows,) = [q["sql"] for q in queries if "LIMIT 51" in q["sql"]]
    for column in ("summary", "outcomes", "location", "created_at", "updated_at"):
        assert f'"engagements_engagement"."{column}"' not in rows
    assert '"engagements_engagement"."version"' in rows
    # A deferred field read later would load its row alone: WHERE id = …
    assert not [q for q in queries if '"engagements_engagement"."id" = ' in q["sql"]]


def test_a_filter_form_class_is_built_once_and_each_form_has_fresh_fields(db):
    """core.filters.FilterSet keeps its form class; each form still gets its own fields,
    whose choices are read when it is used: a partner added since is a valid choice."""
    from engagements.filters import EngagementFilterSet
    from partners.models import Partner

    first = EngagementFilterSet({"partner": ["JPN"]}, queryset=Engagement.objects.all())
    assert first.is_valid()
    Partner.objects.create(code="TLA", name="Atlantis", kind="state", region="southeast_asia")
    second = EngagementFilterSet({"partner": ["TLA"]}, queryset=Engagement.objects.all())
    assert second.is_valid(), second.errors
    assert type(first.form) is type(second.form)
    assert first.form.fields["partner"] is not second.form.fields["partner"]
    second.form.fields["partner"].label = "Changed"
    assert EngagementFilterSet({}).form.fields["partner"].label == "Partners"


def test_the_api_and_downloads_never_read_the_filter_panel(client, reader):
    """The filter panel is drawn only on the page: an API list or a download reads neither
    its options nor the data stamp."""
    make_engagement(partners=["JPN"])
    client.force_login(reader)
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/engagements/?format=csv").status_code == 200
        api = client.get("/api/v1/engagements/", HTTP_ACCEPT="application/json")
        assert api.status_code == 200
    assert not [q for q in queries if "reportstamp" in q["sql"].lower()]


def test_the_cached_count_and_rows_follow_every_write_and_clearance(client, reader):
    """The count and the table come from the cache for the same filters, rows and data:
    each write shows on the very next page, and a clearance never sees another's count."""
    from engagements.services import save_engagement
    from partners.models import Partner

    first = make_engagement(partners=["IDN"], title="Port visit")
    make_engagement(partners=["IDN"], marking="NS")
    client.force_login(reader)
    assert "1 engagement matches." in page_text(client.get("/engagements/?partner=IDN"))
    client.force_login(make_user(Role.MANAGER, Marking.NS))
    assert "2 engagements match." in page_text(client.get("/engagements/?partner=IDN"))

    client.force_login(reader)
    make_engagement(partners=["IDN"])
    assert "2 engagements match." in page_text(client.get("/engagements/?partner=IDN"))
    save_engagement(reader, {"title": "Harbour visit"}, first.pk, version=first.version)
    text = page_text(client.get("/engagements/?partner=IDN"))
    assert "Harbour visit" in text and "Port visit" not in text
    indonesia = Partner.objects.get(code="IDN")
    indonesia.name = "Republic of Indonesia"
    indonesia.save()
    assert "Republic of Indonesia" in page_text(client.get("/engagements/?partner=IDN"))
    # Another order is another table (its headings link to other sorts).
    page = client.get("/engagements/?partner=IDN&ordering=title").content.decode()
    assert "?partner=IDN&amp;ordering=-title" in page


def test_a_write_elsewhere_recounts_but_draws_nothing_again(client, reader):
    """Engagement writes move the data stamp (the count), not the directory stamp: the
    filter panel and rows that did not change stay in the cache."""
    make_engagement(partners=["IDN"])
    client.force_login(reader)
    client.get("/engagements/?partner=IDN")
    make_engagement(partners=["JPN"])  # not on this page
    with CaptureQueriesContext(connection) as queries:
        text = page_text(client.get("/engagements/?partner=IDN"))
    assert "1 engagement matches." in text
    sql = " ".join(q["sql"] for q in queries)
    assert "COUNT(" in sql.upper()  # counted afresh
    assert '"roadmap_facet"' not in sql  # the filter panel: from the cache
    assert '"engagements_engagement_pillars"' not in sql  # the rows: from the cache
