"""Search (CONTRACT.md, "People, notes, attachments, timeline, search"): one box over
partners, engagements and notes, what users type (a place, a partner's other name, its
code, a typo), only within clearance."""

import pytest

from engagements.models import Note
from engagements.search import one_edit_apart
from engagements.services import save_note
from tests.factories import api_client, make_engagement
from tests.test_markings import banners

pytestmark = pytest.mark.usefixtures("reference_data")


@pytest.fixture
def logged(analyst_ns):
    hanoi = make_engagement(
        title="Staff talks in Hanoi",
        location="Hanoi",
        partners=["VNM"],
        summary="Maritime domain awareness and coast guard cooperation.",
    )
    tokyo = make_engagement(title="Dialogue in Tokyo", partners=["JPN"], location="Tokyo")
    secret = make_engagement(
        title="Operation Pulsar", summary="Pulsar submarine cable survey.", marking="NS"
    )
    note = save_note(
        analyst_ns, Note(engagement=tokyo), {"body": "The attaché asked about cyber drills."}
    )
    return hanoi, tokyo, secret, note


def found(user, text):
    response = api_client(user).get("/api/v1/search/", {"q": text})
    assert response.status_code == 200
    return [(hit["kind"], hit["id"]) for hit in response.json()]


def test_an_engagement_is_found_by_its_place_its_partners_names_and_code(logged, analyst_nu):
    hanoi, tokyo, _, _ = logged
    for text in ("Hanoi", "hanoi", "Vietnam", "Viet Nam", "VNM"):
        assert ("engagement", hanoi.pk) in found(analyst_nu, text), text
        assert ("engagement", tokyo.pk) not in found(analyst_nu, text), text
    assert found(analyst_nu, "VNM")[0] == ("partner", "VNM")  # the partner named first


def test_a_word_with_one_typo_is_found(logged, analyst_nu):
    hanoi, *_ = logged
    for typo in ("maritme", "maritimes", "mairtime", "martiime", "Hanio"):
        assert ("engagement", hanoi.pk) in found(analyst_nu, typo), typo
    assert found(analyst_nu, "marxtxme") == []  # two typos: not the same word
    assert found(analyst_nu, "Hnoi") == []  # four letters: taken as typed


def test_every_word_must_be_found(logged, analyst_nu):
    hanoi, tokyo, _, _ = logged
    assert found(analyst_nu, "staff hanoi") == [("engagement", hanoi.pk)]
    assert found(analyst_nu, "staff tokyo") == []


def test_notes_are_found_by_their_text(logged, analyst_nu):
    _, _, _, note = logged
    hits = api_client(analyst_nu).get("/api/v1/search/", {"q": "cyber drills"}).json()
    assert [(hit["kind"], hit["id"]) for hit in hits] == [("note", note.pk)]
    assert set(hits[0]) == {"kind", "id", "title", "snippet", "url"}
    assert hits[0]["url"].endswith("#notes") and "cyber drills" in hits[0]["snippet"]


def test_nothing_above_the_readers_clearance_is_found_or_hinted(logged, analyst_nu, analyst_ns):
    _, _, secret, _ = logged
    save_note(
        analyst_ns, Note(partner_id=None, engagement=logged[0]), {"body": "Quasar", "marking": "NS"}
    )
    for text in ("Pulsar", "pulsr", "submarine", "Quasar", "quasr"):
        assert found(analyst_nu, text) == [], text
    assert ("engagement", secret.pk) in found(analyst_ns, "pulsr")  # a typo, for who may see it


def test_the_page_shows_the_hits_and_the_word_searched_instead(client, logged, analyst_ns):
    hanoi, *_ = logged
    client.force_login(analyst_ns)
    page = client.get("/search/", {"q": "maritme"})
    html = page.content.decode()
    assert "No “maritme” anywhere: showing “maritime”." in html
    assert f'href="/engagements/{hanoi.pk}/"' in html
    assert 'role="search"' in client.get("/").content.decode()  # the box in the header
    ns = client.get("/search/", {"q": "pulsar"})
    assert {code for _, code, _ in banners(ns)} == {"NS"}
    assert "Nothing found" in client.get("/search/", {"q": "zebra"}).content.decode()


def test_a_search_costs_the_same_queries_however_many_hits(analyst_nu, django_assert_num_queries):
    for number in range(3):
        make_engagement(title=f"Harbour visit {number}", location="Haiphong")
    reader = api_client(analyst_nu)
    reader.get("/api/v1/search/", {"q": "Haiphong"})
    # the partners; the people; the partners the word names (for the engagements); the
    # engagements; the notes
    with django_assert_num_queries(5):
        assert len(reader.get("/api/v1/search/", {"q": "Haiphong"}).json()) == 3
    for number in range(5):
        make_engagement(title=f"More harbour visits {number}", location="Haiphong")
    with django_assert_num_queries(5):
        assert len(reader.get("/api/v1/search/", {"q": "Haiphong"}).json()) == 8


@pytest.mark.parametrize(
    "typed, word, expected",
    [
        ("maritme", "maritime", True),
        ("mairtime", "maritime", True),
        ("maritimes", "maritime", True),
        ("naritime", "maritime", True),
        ("maritime", "maritime", False),
        ("mritme", "maritime", False),
        ("martimie", "maritime", False),
    ],
)
def test_one_edit_apart(typed, word, expected):
    assert one_edit_apart(typed, word) is expected
