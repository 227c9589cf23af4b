"""Notes and minutes on engagements and partners (CONTRACT.md, "People, notes, attachments,
timeline, search"): their API and pages, their markings, who changes them, mentions."""

import pytest

from engagements.models import Engagement, Note
from engagements.services import NotVisible, save_note
from tests.factories import api_client, make_engagement
from tests.test_markings import banners
from tests.test_views import count_queries

pytestmark = pytest.mark.usefixtures("reference_data")

FIELDS = {"id", "body", "marking", "author", "at", "edited_at"}


@pytest.fixture
def engagement(analyst_nu):
    return make_engagement(title="Staff talks with Japan", created_by=analyst_nu)


def notes_url(engagement):
    return f"/api/v1/engagements/{engagement.pk}/notes/"


def write(user, url, body="Readout: both sides agreed.", marking="NU"):
    return api_client(user).post(url, {"body": body, "marking": marking}, format="json")


# The API ------------------------------------------------------------------------------


def test_a_note_is_written_and_listed_as_the_contract_says(engagement, analyst_nu):
    response = write(analyst_nu, notes_url(engagement))
    assert response.status_code == 201, response.content
    note = response.json()
    assert set(note) == FIELDS
    assert (note["body"], note["marking"], note["author"], note["edited_at"]) == (
        "Readout: both sides agreed.",
        "NU",
        analyst_nu.username,
        None,
    )
    listed = api_client(analyst_nu).get(notes_url(engagement)).json()
    assert [item["id"] for item in listed] == [note["id"]]
    assert api_client(analyst_nu).get(f"/api/v1/notes/{note['id']}/").json() == note


def test_a_note_is_never_marked_above_its_writers_clearance(engagement, analyst_nu):
    response = write(analyst_nu, notes_url(engagement), marking="NS")
    assert response.status_code == 400
    assert "above your clearance" in response.json()["marking"][0]
    assert not Note.objects.exists()


def test_a_note_marked_above_the_readers_clearance_shows_nowhere(
    client, engagement, analyst_nu, analyst_ns
):
    secret = write(analyst_ns, notes_url(engagement), "Nebula minutes", "NS").json()
    write(analyst_nu, notes_url(engagement), "Open readout")
    reader = api_client(analyst_nu)
    assert [note["body"] for note in reader.get(notes_url(engagement)).json()] == ["Open readout"]
    assert reader.get(f"/api/v1/notes/{secret['id']}/").status_code == 404
    assert reader.patch(f"/api/v1/notes/{secret['id']}/", {"body": "x"}).status_code == 404
    client.force_login(analyst_nu)
    page = client.get(f"/engagements/{engagement.pk}/")
    assert "Nebula" not in page.content.decode() and "Open readout" in page.content.decode()
    assert {code for _, code, _ in banners(page)} == {"NU"}
    client.force_login(analyst_ns)  # who may read it sees it, and the page is marked so
    page = client.get(f"/engagements/{engagement.pk}/")
    assert "Nebula minutes" in page.content.decode()
    assert {code for _, code, _ in banners(page)} == {"NS"}


def test_the_notes_of_an_engagement_above_clearance_are_hidden_with_it(analyst_nu, analyst_ns):
    hidden = make_engagement(marking="NS")
    note = write(analyst_ns, notes_url(hidden), "On a secret meeting").json()
    reader = api_client(analyst_nu)
    assert reader.get(notes_url(hidden)).status_code == 404
    assert write(analyst_nu, notes_url(hidden)).status_code == 404
    assert reader.get(f"/api/v1/notes/{note['id']}/").status_code == 404


def test_a_note_is_stored_only_while_its_engagement_is_within_the_writers_clearance(
    engagement, analyst_nu
):
    Engagement.objects.filter(pk=engagement.pk).update(marking="NS")  # raised meanwhile
    with pytest.raises(NotVisible):
        save_note(analyst_nu, Note(engagement=engagement), {"body": "Too late"})
    assert not Note.objects.exists()


def test_its_author_a_manager_or_an_admin_change_a_note_and_its_history_is_kept(
    engagement, analyst_nu, analyst_ns, manager_ns, admin_ns
):
    note = write(analyst_nu, notes_url(engagement)).json()
    url = f"/api/v1/notes/{note['id']}/"
    assert api_client(analyst_ns).patch(url, {"body": "Not mine"}).status_code == 403
    assert api_client(analyst_ns).delete(url).status_code == 403
    changed = api_client(analyst_nu).patch(url, {"body": "Corrected readout"})
    assert changed.status_code == 200 and changed.json()["edited_at"] is not None
    assert api_client(manager_ns).patch(url, {"body": "Tidied"}).status_code == 200
    stored = Note.objects.get()
    assert [row.body for row in stored.history.order_by("history_id")] == [
        "Readout: both sides agreed.",
        "Corrected readout",
        "Tidied",
    ]
    assert api_client(admin_ns).delete(url).status_code == 204
    assert not Note.objects.exists()


def test_mentions_are_kept_for_the_users_named(engagement, analyst_nu, analyst_ns, manager_ns):
    body = f"Ask @{analyst_ns.username} and @{manager_ns.username}. Not @nobody or a@b."
    note = write(analyst_nu, notes_url(engagement), body).json()
    assert set(Note.objects.get(pk=note["id"]).mentions.all()) == {analyst_ns, manager_ns}


def test_notes_go_with_their_engagement(engagement, analyst_nu, admin_ns):
    write(analyst_nu, notes_url(engagement))
    api_client(admin_ns).delete(
        f"/api/v1/engagements/{engagement.pk}/", HTTP_IF_MATCH=f'"{engagement.version}"'
    )
    assert not Engagement.objects.exists() and not Note.objects.exists()


def test_partner_notes(client, analyst_nu, analyst_ns):
    url = "/api/v1/partners/JPN/notes/"
    assert write(analyst_ns, url, "Ambassador's view, privately", "NS").status_code == 201
    assert write(analyst_nu, url, "New desk officer in Tokyo").status_code == 201
    assert [n["body"] for n in api_client(analyst_nu).get(url).json()] == [
        "New desk officer in Tokyo"
    ]
    assert api_client(analyst_nu).get("/api/v1/partners/XXX/notes/").status_code == 404
    client.force_login(analyst_nu)
    page = client.get("/partners/JPN/").content.decode()
    assert "New desk officer in Tokyo" in page and "privately" not in page


def test_the_notes_list_costs_the_same_queries_however_many(
    engagement, analyst_nu, django_assert_num_queries
):
    reader = api_client(analyst_nu)
    write(analyst_nu, notes_url(engagement))
    reader.get(notes_url(engagement))
    for number in range(5):
        write(analyst_nu, notes_url(engagement), f"Note {number}")
    # the engagement through its gate; the notes with their authors
    with django_assert_num_queries(2):
        assert len(reader.get(notes_url(engagement)).json()) == 6


# The pages ------------------------------------------------------------------------------


def test_notes_are_added_edited_and_deleted_on_the_pages(client, engagement, analyst_nu):
    client.force_login(analyst_nu)
    page = client.get(f"/engagements/{engagement.pk}/").content.decode()
    assert 'aria-label="Add a note"' in page and "No notes yet." in page
    response = client.post(
        f"/engagements/{engagement.pk}/notes/", {"body": "Met the new attaché.", "marking": "NU"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/engagements/{engagement.pk}/#notes"
    note = Note.objects.get()
    assert (note.author, note.body) == (analyst_nu, "Met the new attaché.")
    edit = client.get(f"/notes/{note.pk}/edit/")
    assert edit.status_code == 200 and "Met the new attaché." in edit.content.decode()
    client.post(
        f"/notes/{note.pk}/edit/", {"body": "Met the new defence attaché.", "marking": "NU"}
    )
    note.refresh_from_db()
    assert note.body == "Met the new defence attaché." and note.edited_at is not None
    assert client.post(f"/notes/{note.pk}/delete/").status_code == 302
    assert not Note.objects.exists()


def test_an_empty_note_is_refused_with_a_message_not_an_error(client, engagement, analyst_nu):
    client.force_login(analyst_nu)
    response = client.post(f"/engagements/{engagement.pk}/notes/", {"body": "", "marking": "NU"})
    assert response.status_code == 200 and "This field is required." in response.content.decode()
    response = client.post("/partners/JPN/notes/", {"body": "", "marking": "NU"}, follow=True)
    assert "The note was not added" in response.content.decode()
    assert not Note.objects.exists()


def test_the_marking_offered_for_a_note_stops_at_the_writers_clearance(
    client, engagement, analyst_nu
):
    client.force_login(analyst_nu)
    page = client.get(f"/engagements/{engagement.pk}/").content.decode()
    form = page[page.index('aria-label="Add a note"') :]
    assert 'value="NU"' in form and 'value="NS"' not in form


def test_another_analyst_may_not_edit_or_delete_a_note_on_the_pages(
    client, engagement, analyst_nu, analyst_ns
):
    note = save_note(analyst_nu, Note(engagement=engagement), {"body": "Mine"})
    client.force_login(analyst_ns)
    page = client.get(f"/engagements/{engagement.pk}/").content.decode()
    assert "Mine" in page and f"/notes/{note.pk}/edit/" not in page
    assert client.get(f"/notes/{note.pk}/edit/").status_code == 404
    assert client.post(f"/notes/{note.pk}/delete/").status_code == 404
    assert Note.objects.filter(pk=note.pk).exists()


def test_the_engagement_page_costs_the_same_queries_with_more_notes(client, engagement, analyst_nu):
    client.force_login(analyst_nu)
    save_note(analyst_nu, Note(engagement=engagement), {"body": "One"})
    client.get("/")  # the user's role and permissions are read once (User.access)
    few = count_queries(client, f"/engagements/{engagement.pk}/")
    for number in range(6):
        save_note(analyst_nu, Note(engagement=engagement), {"body": f"More {number}"})
    assert count_queries(client, f"/engagements/{engagement.pk}/") == few
