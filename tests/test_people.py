"""People at partners: the API, the pages, the engagement's `people`, import and export,
and the rule that a person above the reader's clearance does not exist for the reader."""

import datetime
import io

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from accounts.choices import Marking, Role
from engagements.models import Engagement
from people.models import Affiliation, Person
from people.services import save_person
from tests.factories import api_client, make_engagement, make_user

pytestmark = pytest.mark.usefixtures("reference_data")


def make_person(name="Dewi Lestari", marking=Marking.NU, writer=None, **fields):
    writer = writer or make_user(Role.ANALYST, Marking.NS)
    data = {"name": name, "marking": marking, **fields}
    return save_person(writer, data)


def body(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def dewi(analyst_nu):
    from partners.models import Partner

    return save_person(
        analyst_nu,
        {
            "name": "Dewi Lestari",
            "title": "Director for ASEAN Cooperation",
            "partner": Partner.objects.get(code="IDN"),
            "email": "dewi@example.org",
            "affiliations": [
                {
                    "partner": Partner.objects.get(code="ASEAN"),
                    "title": "Seconded officer",
                    "start": datetime.date(2019, 1, 1),
                    "end": datetime.date(2021, 6, 30),
                },
                {"partner": Partner.objects.get(code="IDN"), "title": "Director"},
            ],
        },
    )


def test_a_person_is_created_read_changed_and_deleted_through_the_api(analyst_nu):
    api = api_client(analyst_nu)
    created = api.post(
        "/api/v1/people/",
        {
            "name": "Nguyen Van An",
            "title": "Deputy Director",
            "partner": "VNM",
            "email": "an@example.org",
            "phone": "+84 24 0000",
            "marking": "NU",
            "affiliations": [
                {
                    "partner": "ASEAN",
                    "title": "Desk officer",
                    "start": "2018-01-01",
                    "end": "2020-01-01",
                }
            ],
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["partner"] == "VNM" and body["version"] == 1
    assert body["affiliations"] == [
        {"partner": "ASEAN", "title": "Desk officer", "start": "2018-01-01", "end": "2020-01-01"}
    ]
    url = f"/api/v1/people/{body['id']}/"
    assert api.get(url).json()["name"] == "Nguyen Van An"
    assert api.get(url)["ETag"] == '"1"'

    changed = api.patch(url, {"title": "Director", "version": 1, "affiliations": []}, format="json")
    assert changed.status_code == 200, changed.json()
    assert changed.json()["version"] == 2 and changed.json()["affiliations"] == []
    # A second change from the version read first is refused, and stores nothing.
    stale = api.patch(url, {"title": "Ambassador", "version": 1}, format="json")
    assert stale.status_code == 409
    assert Person.objects.get(pk=body["id"]).title == "Director"
    assert api.patch(url, {"title": "x"}, format="json").status_code == 400  # no version

    assert api.delete(url + "?version=1").status_code == 409
    assert api.delete(url, HTTP_IF_MATCH='"2"').status_code == 204
    assert not Person.objects.filter(pk=body["id"]).exists()


def test_history_keeps_each_write_and_who_made_it(dewi, analyst_nu):
    save_person(analyst_nu, {"title": "Ambassador"}, dewi.pk, dewi.version)
    rows = list(dewi.history.order_by("history_date"))
    assert [(row.history_type, row.title, row.history_user) for row in rows] == [
        ("+", "Director for ASEAN Cooperation", analyst_nu),
        ("~", "Ambassador", analyst_nu),
    ]
    assert Affiliation.history.filter(person=dewi).count() == 2


def test_the_rules_are_read_back_as_errors(analyst_nu):
    api = api_client(analyst_nu)
    refused = api.post(
        "/api/v1/people/",
        {
            "name": "",
            "marking": "NS",  # above an NU analyst
            "email": "not an address",
            "affiliations": [{"partner": "IDN", "start": "2020-01-01", "end": "2019-01-01"}],
        },
        format="json",
    )
    assert refused.status_code == 400
    errors = refused.json()
    assert set(errors) >= {"name", "email"}
    ok_but_marked = api.post("/api/v1/people/", {"name": "A", "marking": "NS"}, format="json")
    assert ok_but_marked.status_code == 400 and "marking" in ok_but_marked.json()
    backwards = api.post(
        "/api/v1/people/",
        {
            "name": "A",
            "affiliations": [{"partner": "IDN", "start": "2020-01-01", "end": "2019-01-01"}],
        },
        format="json",
    )
    assert backwards.status_code == 400
    assert "must end after it began" in str(backwards.json()["affiliations"])
    assert Person.objects.count() == 0


def test_filters_by_partner_now_or_once_and_by_search(dewi, analyst_nu):
    make_person("Kenji Sato", partner=None)
    api = api_client(analyst_nu)
    names = lambda query: [p["name"] for p in api.get("/api/v1/people/" + query).json()["results"]]  # noqa: E731
    assert names("?partner=IDN") == ["Dewi Lestari"]
    assert names("?partner=ASEAN") == ["Dewi Lestari"]  # once, through an affiliation
    assert names("?partner=JPN") == []
    assert names("?search=sato") == ["Kenji Sato"]
    assert names("?search=ASEAN Cooperation") == ["Dewi Lestari"]


def test_analysts_delete_only_the_people_they_entered(dewi, analyst_ns, manager_ns):
    url = f"/api/v1/people/{dewi.pk}/?version=1"
    assert api_client(analyst_ns).delete(url).status_code == 403
    assert api_client(manager_ns).delete(url).status_code == 204


def test_a_person_above_the_reader_does_not_exist_for_them(client, analyst_nu):
    secret = make_person("Pulsar Contact", marking=Marking.NS, title="Quasar desk")
    engagement = make_engagement(title="Open workshop", partners=["IDN"], created_by=analyst_nu)
    Engagement.objects.get(pk=engagement.pk).people.add(secret)
    save_person(
        make_user(Role.ANALYST, Marking.NS),
        {
            "affiliations": [
                {
                    "partner": engagement.partner_links.get().partner,
                    "start": datetime.date(2024, 1, 1),
                }
            ]
        },
        secret.pk,
        secret.version,
    )
    for role in (Role.ANALYST, Role.MANAGER, Role.ADMIN):
        reader = make_user(role, Marking.NU)
        api = api_client(reader)
        client.force_login(reader)
        answers = [
            api.get("/api/v1/people/"),
            api.get("/api/v1/people/?search=Pulsar"),
            api.get(f"/api/v1/engagements/{engagement.pk}/"),
            api.get("/api/v1/engagements/"),
            api.get("/api/v1/search/?q=Pulsar"),
            api.get("/api/v1/search/?q=Quasar"),
            api.get("/api/v1/partners/IDN/timeline/"),
            client.get("/people/"),
            client.get("/people/?format=csv"),
            client.get(f"/engagements/{engagement.pk}/"),
            client.get(f"/engagements/{engagement.pk}/edit/"),
            client.get("/partners/IDN/"),
            client.get("/search/?q=Pulsar"),
        ]
        for response in answers:
            assert response.status_code == 200, response
            text = body(response).decode()
            assert "Pulsar Contact" not in text and "Quasar" not in text, response
            assert f"/people/{secret.pk}/" not in text
        detail = api.get(f"/api/v1/engagements/{engagement.pk}/").json()
        assert detail["people"] == []
        for response in (
            api.get(f"/api/v1/people/{secret.pk}/"),
            api.patch(f"/api/v1/people/{secret.pk}/", {"name": "x", "version": 2}, format="json"),
            api.delete(f"/api/v1/people/{secret.pk}/?version=2"),
            client.get(f"/people/{secret.pk}/"),
            client.get(f"/people/{secret.pk}/edit/"),
            client.post(f"/people/{secret.pk}/delete/", {"version": 2}),
        ):
            assert response.status_code == 404, response
            assert "Pulsar" not in response.content.decode()
        # Naming the hidden person on an engagement is refused as if there were none.
        named = api.patch(
            f"/api/v1/engagements/{engagement.pk}/",
            {"people": [secret.pk], "version": Engagement.objects.get(pk=engagement.pk).version},
            format="json",
        )
        assert named.status_code == 400
        assert named.json()["people"] == [f"No person with id {secret.pk}."]
    assert Person.objects.get(pk=secret.pk).name == "Pulsar Contact"


def test_a_writer_keeps_the_people_it_cannot_see(analyst_nu):
    secret = make_person("Hidden Counterpart", marking=Marking.NS)
    seen = make_person("Seen Counterpart")
    engagement = make_engagement(partners=["IDN"], created_by=analyst_nu)
    Engagement.objects.get(pk=engagement.pk).people.add(secret)
    api = api_client(analyst_nu)
    changed = api.patch(
        f"/api/v1/engagements/{engagement.pk}/",
        {"people": [seen.pk], "version": engagement.version},
        format="json",
    )
    assert changed.status_code == 200, changed.json()
    assert changed.json()["people"] == [seen.pk]
    assert set(Engagement.objects.get(pk=engagement.pk).people.all()) == {secret, seen}
    cleared = api.patch(
        f"/api/v1/engagements/{engagement.pk}/",
        {"people": [], "version": changed.json()["version"]},
        format="json",
    )
    assert cleared.json()["people"] == []
    assert list(Engagement.objects.get(pk=engagement.pk).people.all()) == [secret]


def test_the_engagement_form_picks_people_and_shows_them(client, analyst_nu, dewi):
    engagement = make_engagement(partners=["IDN"], created_by=analyst_nu)
    client.force_login(analyst_nu)
    form = client.get(f"/engagements/{engagement.pk}/edit/").context["form"]
    data = {
        name: value
        for name, value in form.initial.items()
        if value is not None and name not in ("partners", "pillars", "facets", "tips", "observers")
    }
    data.update(
        partners=["IDN"],
        pillars=[p.pk for p in engagement.pillars.all()],
        people=[dewi.pk],
    )
    response = client.post(f"/engagements/{engagement.pk}/edit/", data)
    assert response.status_code == 302, response.context["form"].errors
    assert list(Engagement.objects.get(pk=engagement.pk).people.all()) == [dewi]
    page = client.get(f"/engagements/{engagement.pk}/").content.decode()
    assert f'href="/people/{dewi.pk}/">Dewi Lestari</a>' in page
    person_page = client.get(f"/people/{dewi.pk}/").content.decode()
    assert engagement.title in person_page


def test_the_pages_add_and_change_a_person_with_roles_over_time(client, analyst_nu):
    from partners.models import Partner

    client.force_login(analyst_nu)
    assert client.get("/people/new/").status_code == 200
    idn = Partner.objects.get(code="IDN")
    management = {
        "affiliations-TOTAL_FORMS": "1",
        "affiliations-INITIAL_FORMS": "0",
        "affiliations-MIN_NUM_FORMS": "0",
        "affiliations-MAX_NUM_FORMS": "100",
    }
    created = client.post(
        "/people/new/",
        {
            "name": "Siti Rahma",
            "title": "Counsellor",
            "partner": idn.pk,
            "marking": "NU",
            **management,
            "affiliations-0-partner": idn.pk,
            "affiliations-0-title": "Counsellor",
            "affiliations-0-start": "2022-03-01",
        },
    )
    assert created.status_code == 302
    person = Person.objects.get(name="Siti Rahma")
    assert created.url == f"/people/{person.pk}/"
    assert [(a.partner, a.start) for a in person.affiliations.all()] == [
        (idn, datetime.date(2022, 3, 1))
    ]
    page = client.get(f"/people/{person.pk}/").content.decode()
    assert "Counsellor" in page and "2022" in page

    # An edit from a version someone else has since changed is refused and says so.
    save_person(analyst_nu, {"phone": "+62 21 0000"}, person.pk, 1)
    affiliation = person.affiliations.get()
    edit = {
        "name": "Siti Rahma",
        "title": "Minister Counsellor",
        "partner": idn.pk,
        "marking": "NU",
        "version": 1,
        **management,
        "affiliations-INITIAL_FORMS": "1",
        "affiliations-0-id": affiliation.pk,
        "affiliations-0-person": person.pk,
        "affiliations-0-partner": idn.pk,
        "affiliations-0-title": "Counsellor",
        "affiliations-0-start": "2022-03-01",
        "affiliations-0-end": "2025-01-01",
    }
    stale = client.post(f"/people/{person.pk}/edit/", edit)
    assert stale.status_code == 200
    assert "Someone else changed this person" in stale.content.decode()
    saved = client.post(f"/people/{person.pk}/edit/", {**edit, "version": 2})
    assert saved.status_code == 302
    person.refresh_from_db()
    assert person.title == "Minister Counsellor" and person.version == 3
    assert person.affiliations.get().end == datetime.date(2025, 1, 1)
    # Above the writer's clearance: the form does not offer it, and says so.
    refused = client.post(f"/people/{person.pk}/edit/", {**edit, "version": 3, "marking": "NS"})
    assert refused.status_code == 200 and "marking" in refused.context["form"].errors

    deleted = client.post(f"/people/{person.pk}/delete/", {"version": 3})
    assert deleted.status_code == 302 and not Person.objects.filter(pk=person.pk).exists()


def test_the_partner_timeline_shows_people_joining_and_leaving(analyst_nu, dewi):
    items = api_client(analyst_nu).get("/api/v1/partners/ASEAN/timeline/").json()["results"]
    people = [(item["at"][:10], item["title"]) for item in items if item["kind"] == "person"]
    assert people == [
        ("2021-06-30", "Dewi Lestari left"),
        ("2019-01-01", "Dewi Lestari joined as Seconded officer"),
    ]
    assert {item["id"] for item in items if item["kind"] == "person"} == {dewi.pk}


def test_search_finds_people_by_name_title_and_a_typo(analyst_nu, dewi):
    api = api_client(analyst_nu)
    for query in ("Lestari", "ASEAN Cooperation", "Lestary"):
        results = api.get("/api/v1/search/", {"q": query}).json()
        assert {"kind": "person", "id": dewi.pk} in [
            {"kind": hit["kind"], "id": hit["id"]} for hit in results
        ], query


def test_export_and_import_round_trip(client, analyst_nu, dewi, tmp_path):
    make_person("Secret Source", marking=Marking.NS)
    client.force_login(analyst_nu)
    response = client.get("/people/?format=xlsx")
    assert response["Content-Disposition"].endswith('people-NU.xlsx"')
    sheet = load_workbook(io.BytesIO(body(response))).active
    rows = [row for row in sheet.iter_rows(values_only=True) if row[0] is not None]
    header = rows[0]
    assert header[:9] == (
        "id",
        "name",
        "title",
        "partner",
        "email",
        "phone",
        "marking",
        "affiliations",
        "version",
    )
    assert [row[1] for row in rows[1:]] == ["Dewi Lestari"]  # never the NS person
    assert rows[1][7] == "ASEAN|Seconded officer|2019-01-01|2021-06-30; IDN|Director||"

    csv = body(client.get("/people/?format=csv")).decode()
    path = tmp_path / "people.csv"
    path.write_text(csv.replace("Dewi Lestari", "Dewi Kartika"))
    call_command("import_people", str(path), user=analyst_nu.username)
    copy = Person.objects.get(name="Dewi Kartika")
    assert copy.created_by == analyst_nu and copy.partner.code == "IDN"
    assert [(a.partner.code, a.title, a.start, a.end) for a in copy.affiliations.all()] == [
        ("ASEAN", "Seconded officer", datetime.date(2019, 1, 1), datetime.date(2021, 6, 30)),
        ("IDN", "Director", None, None),
    ]

    bad = tmp_path / "bad.csv"
    bad.write_text(
        "name,partner,marking,affiliations\nGood Row,IDN,NU,\nBad Row,XXX,NU,NOPE|x||\n"
        "Marked Row,IDN,NS,\n"
    )
    with pytest.raises(CommandError) as refused:
        call_command("import_people", str(bad), user=analyst_nu.username)
    message = str(refused.value)
    assert "line 3, partner: No partner with code “XXX”." in message
    assert "line 3, affiliations: 1, partner: No partner with code “NOPE”." in message
    assert "line 4, marking: You cannot mark a person above your clearance (NU)." in message
    assert not Person.objects.filter(name__in=["Good Row", "Bad Row"]).exists()


@pytest.mark.parametrize("size", [3, 13])
def test_lists_cost_a_fixed_number_of_queries(client, analyst_nu, django_assert_num_queries, size):
    """As many for 3 people as for 13: the API reads the affiliations (with their
    partners) in one query for the page."""
    for number in range(size):
        make_person(f"Person {number}", writer=analyst_nu)
    client.force_login(analyst_nu)
    with django_assert_num_queries(6):  # with the header's count of unread notifications
        assert client.get("/people/").status_code == 200
    with django_assert_num_queries(3):
        assert api_client(analyst_nu).get("/api/v1/people/").status_code == 200


@pytest.mark.parametrize("sent", ["²", "1²", "99999999999"])
def test_an_odd_version_is_a_400_not_a_500(analyst_nu, dewi, sent):
    api = api_client(analyst_nu)
    url = f"/api/v1/people/{dewi.pk}/"
    assert (
        api.patch(url, {"title": "x"}, format="json", HTTP_IF_MATCH=f'"{sent}"').status_code == 400
    )
    assert api.delete(url, HTTP_IF_MATCH=f'"{sent}"').status_code == 400


def test_an_affiliation_of_more_than_four_parts_is_a_line_error(analyst_nu, tmp_path):
    bad = tmp_path / "people.csv"
    bad.write_text("name,affiliations\nAn Nguyen,JPN|a|2020-01-01||extra\n")
    with pytest.raises(CommandError) as refused:
        call_command("import_people", str(bad), user=analyst_nu.username)
    assert "line 2, affiliations: “JPN|a|2020-01-01||extra” has 5 parts" in str(refused.value)


def test_the_engagement_history_shows_the_people_the_reader_may_see(analyst_nu, client):
    from engagements.services import delete_engagement, restore_engagement, save_engagement

    writer = make_user(Role.MANAGER, Marking.NS)
    seen = make_person("Seen Counterpart")
    secret = make_person("Hidden Counterpart", marking=Marking.NS)
    engagement = make_engagement(partners=["IDN"], created_by=writer)
    engagement = save_engagement(writer, {"people": [seen, secret]}, engagement.pk, 1)
    engagement = save_engagement(writer, {"people": [seen]}, engagement.pk, 2)
    history = api_client(analyst_nu).get(f"/api/v1/engagements/{engagement.pk}/history/").json()
    assert [entry["changes"].get("people") for entry in history] == [None, [[], [seen.pk]], None]
    mine = api_client(writer).get(f"/api/v1/engagements/{engagement.pk}/history/").json()
    assert [entry["changes"].get("people") for entry in mine] == [
        [sorted([seen.pk, secret.pk]), [seen.pk]],
        [[], sorted([seen.pk, secret.pk])],
        None,
    ]
    client.force_login(analyst_nu)
    page = client.get(f"/engagements/{engagement.pk}/").content.decode()
    assert "Seen Counterpart" in page and "Hidden Counterpart" not in page
    # Restored by an NU reader: the people come back, those it cannot see too.
    save_engagement(writer, {"people": [seen, secret]}, engagement.pk, 3)
    delete_engagement(writer, engagement.pk, 4)
    restored = restore_engagement(analyst_nu, engagement.pk)
    assert set(restored.people.all()) == {seen, secret}
    newest = Engagement.history.filter(id=engagement.pk).order_by("-history_id").first()
    assert sorted(newest.person_ids) == sorted([seen.pk, secret.pk])


def test_deleting_a_person_asks_first(client, analyst_nu, dewi):
    engagement = make_engagement(partners=["IDN"], created_by=analyst_nu)
    engagement.people.add(dewi)
    client.force_login(analyst_nu)
    question = client.get(f"/people/{dewi.pk}/delete/")
    assert question.status_code == 200
    page = question.content.decode()
    assert "Delete Dewi Lestari?" in page and "The 1 engagement you can see" in page
    assert Person.objects.filter(pk=dewi.pk).exists()
    assert client.post(f"/people/{dewi.pk}/delete/", {"version": 1}).status_code == 302
    assert not Person.objects.filter(pk=dewi.pk).exists()
    assert Engagement.objects.filter(pk=engagement.pk).exists()


def test_a_role_rows_error_is_counted_in_the_summary_at_the_top(client, analyst_nu):
    from partners.models import Partner

    client.force_login(analyst_nu)
    idn = Partner.objects.get(code="IDN")
    refused = client.post(
        "/people/new/",
        {
            "name": "Siti Rahma",
            "partner": idn.pk,
            "marking": "NU",
            "affiliations-TOTAL_FORMS": "2",
            "affiliations-INITIAL_FORMS": "0",
            "affiliations-MIN_NUM_FORMS": "0",
            "affiliations-MAX_NUM_FORMS": "100",
            "affiliations-0-partner": idn.pk,
            "affiliations-0-start": "2022-03-01",
            "affiliations-1-partner": idn.pk,
            "affiliations-1-start": "not a date",
        },
    )
    assert refused.status_code == 200 and not Person.objects.exists()
    summary = refused.content.decode().split('id="error-summary"')[1].split("</div>")[0]
    assert "1 problem to fix" in summary
    assert 'href="#id_affiliations-1-start">Role 2, ' in summary
