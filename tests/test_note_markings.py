"""Notes with a marking of their own (a tip status's, a target's, a partner's): shown only
within the reader's clearance wherever they are read (pages, API, downloads, the brief,
the admin and its history), never written above the writer's clearance, and never changed
by someone who may not read them."""

import re

import pytest

from accounts.choices import Marking, Role
from partners.models import Partner
from roadmap.models import Pillar, Target, Tip, TipStatusUpdate
from tests.factories import api_client, make_user
from tests.test_markings import banners, download, marked

pytestmark = pytest.mark.usefixtures("reference_data")

SECRET = "Ask the embassy about the submarine visit"
WITHHELD = "Withheld: marked above your clearance."


@pytest.fixture
def noted(db):
    """A note marked NS on a tip's status, a target and a partner."""
    TipStatusUpdate.objects.create(
        tip=Tip.objects.get(number=3), status="at_risk", note=SECRET, note_marking="NS"
    )
    target = Target.objects.create(
        partner=Partner.objects.get(code="IDN"),
        pillar=Pillar.objects.get(code="dialogue"),
        minimum=2,
        months=6,
        note=SECRET,
        note_marking="NS",
    )
    Partner.objects.filter(code="IDN").update(notes=SECRET, notes_marking="NS")
    return target


# The API -----------------------------------------------------------------------------


def test_the_api_withholds_a_note_above_the_readers_clearance(noted, analyst_nr, analyst_ns):
    reader = api_client(analyst_nr)
    status = reader.get("/api/v1/tips/3/").json()["status"]
    assert (status["status"], status["note"], status["note_marking"]) == ("at_risk", None, None)
    (update,) = reader.get("/api/v1/tips/3/status/").json()["results"]
    assert (update["note"], update["note_marking"]) == (None, None)
    target = reader.get(f"/api/v1/targets/{noted.pk}/").json()
    assert (target["minimum"], target["note"], target["note_marking"]) == (2, None, None)
    partner = reader.get("/api/v1/partners/IDN/").json()
    assert (partner["name"], partner["notes"], partner["notes_marking"]) == (
        "Indonesia",
        None,
        None,
    )
    for url in ["/api/v1/tips/", "/api/v1/targets/", "/api/v1/partners/?search=IDN"]:
        assert SECRET not in reader.get(url).content.decode(), url

    cleared = api_client(analyst_ns)
    assert cleared.get(f"/api/v1/targets/{noted.pk}/").json()["note"] == SECRET
    assert cleared.get("/api/v1/partners/IDN/").json()["notes_marking"] == "NS"
    assert cleared.get("/api/v1/tips/3/").json()["status"]["note"] == SECRET


def results(response):
    body = response.json()
    return body["results"] if isinstance(body, dict) and "results" in body else body


def test_nobody_marks_a_note_above_their_clearance(db):
    manager = api_client(make_user(Role.MANAGER, Marking.NR))
    body = {"status": "on_track", "note": "x", "note_marking": "NS"}
    response = manager.post("/api/v1/tips/2/status/", body)
    assert response.status_code == 400 and "note_marking" in response.json()
    assert not TipStatusUpdate.objects.exists()
    body["note_marking"] = "NR"
    assert manager.post("/api/v1/tips/2/status/", body).status_code == 201
    body = {"partner": "NZL", "pillar": "hadr", "minimum": 1, "months": 6, "note": "x"}
    response = manager.post("/api/v1/targets/", {**body, "note_marking": "NC"})
    assert response.status_code == 400 and "note_marking" in response.json()
    assert manager.post("/api/v1/targets/", body).json()["note_marking"] == "NU"  # the default
    admin = api_client(make_user(Role.ADMIN, Marking.NR))
    response = admin.patch("/api/v1/partners/JPN/", {"notes": "x", "notes_marking": "NS"})
    assert response.status_code == 400 and "notes_marking" in response.json()
    response = admin.patch("/api/v1/partners/JPN/", {"notes": None})
    assert response.status_code == 400 and "notes" in response.json()


def test_nobody_changes_a_note_they_may_not_read(noted):
    manager = api_client(make_user(Role.MANAGER, Marking.NR))
    for change in ({"note": "Overwritten"}, {"note_marking": "NU"}):
        response = manager.patch(f"/api/v1/targets/{noted.pk}/", change, format="json")
        assert response.status_code == 400 and "note" in response.json(), change
    # The target's other fields are still theirs to change; the note stays as it is.
    response = manager.patch(f"/api/v1/targets/{noted.pk}/", {"minimum": 3}, format="json")
    assert response.status_code == 200 and response.json()["note"] is None
    noted.refresh_from_db()
    assert (noted.minimum, noted.note, noted.note_marking) == (3, SECRET, "NS")
    admin = api_client(make_user(Role.ADMIN, Marking.NR))
    response = admin.patch("/api/v1/partners/IDN/", {"notes": ""}, format="json")
    assert response.status_code == 400
    assert Partner.objects.get(code="IDN").notes == SECRET


# Pages and downloads -----------------------------------------------------------------


def test_pages_withhold_a_note_above_the_readers_clearance(client, noted, manager_nu):
    client.force_login(manager_nu)
    for url in ["/roadmap/tips/3/", "/roadmap/", "/reports/tips/", "/reports/plan/", "/"]:
        response = client.get(url)
        html = response.content.decode()
        assert SECRET not in html, url
        assert "withheld" in html.lower(), url
        assert marked(response, "NATO UNCLASSIFIED"), url
    profile = client.get("/partners/IDN/")
    assert SECRET not in profile.content.decode() and WITHHELD in profile.content.decode()
    assert marked(profile, "NATO UNCLASSIFIED")


def test_a_note_within_clearance_is_shown_and_marks_the_page(client, noted, manager_ns):
    client.force_login(manager_ns)
    for url in ["/roadmap/tips/3/", "/roadmap/", "/reports/tips/", "/reports/plan/", "/"]:
        response = client.get(url)
        assert SECRET in response.content.decode(), url
        assert marked(response, "NATO SECRET"), url
    assert marked(client.get("/partners/IDN/"), "NATO SECRET")
    assert marked(client.get("/partners/IDN/brief/"), "NATO SECRET")  # its targets' notes


def test_the_tip_board_download_withholds_and_is_named_by_the_notes_it_holds(
    client, noted, manager_nu, manager_ns
):
    client.force_login(manager_nu)
    name, body = download(client, "/reports/tips/?format=csv")
    assert name == "tips-NU.csv" and SECRET not in body.decode()
    client.force_login(manager_ns)
    name, body = download(client, "/reports/tips/?format=csv")
    assert name == "tips-NS.csv" and SECRET in body.decode()


def test_a_row_edit_keeps_a_note_the_editor_may_not_read(client, noted):
    manager = make_user(Role.MANAGER, Marking.NR)
    client.force_login(manager)
    page = client.get("/reports/plan/").content.decode()
    row = page[page.index(f'id="target-{noted.pk}"') :]
    row = row[: row.index("</tr>")]
    assert 'name="note"' not in row and 'name="note_marking"' not in row
    edit = {"edit": noted.pk, "minimum": 4, "months": 6, "note": "Overwritten"}
    client.post("/reports/plan/", {**edit, "note_marking": "NU"})
    noted.refresh_from_db()
    assert (noted.minimum, noted.note, noted.note_marking) == (4, SECRET, "NS")


def test_the_page_forms_offer_markings_up_to_the_writers_clearance(client, manager_nu):
    client.force_login(manager_nu)
    page = client.get("/roadmap/tips/2/").content.decode()
    options = re.findall(r'<option value="(N[URCS])"', page)
    assert options == ["NU"]
    response = client.post(
        "/roadmap/tips/2/", {"status": "at_risk", "note": "x", "note_marking": "NR"}
    )
    assert response.status_code == 200 and not TipStatusUpdate.objects.exists()  # refused
    client.post("/roadmap/tips/2/", {"status": "at_risk", "note": "Slipping"})
    assert TipStatusUpdate.objects.get().note_marking == "NU"  # not sent: NU


# The admin ---------------------------------------------------------------------------


def test_the_admin_withholds_a_note_and_keeps_it_on_save(client, noted):
    admin = make_user(Role.ADMIN, Marking.NR)
    client.force_login(admin)
    idn = Partner.objects.get(code="IDN")
    url = f"/admin/partners/partner/{idn.pk}/change/"
    page = client.get(url)
    html = page.content.decode()
    assert SECRET not in html and WITHHELD in html
    assert 'name="notes"' not in html and 'name="notes_marking"' not in html
    assert marked(page, "NATO UNCLASSIFIED")
    for url in [
        f"/admin/roadmap/target/{noted.pk}/change/",
        "/admin/roadmap/tip/3/change/",
        f"/admin/roadmap/tipstatusupdate/{TipStatusUpdate.objects.get().pk}/change/",
    ]:
        html = client.get(url).content.decode()
        assert SECRET not in html and WITHHELD in html, url


def test_the_admins_history_withholds_a_note_above_clearance(client, noted):
    noted.note, noted.note_marking = "Now open", "NU"
    noted.save()
    admin = make_user(Role.ADMIN, Marking.NR)
    client.force_login(admin)
    html = client.get(f"/admin/roadmap/target/{noted.pk}/history/").content.decode()
    assert "Now open" in html and SECRET not in html and WITHHELD in html
    version = noted.history.earliest().history_id
    url = f"/admin/roadmap/target/{noted.pk}/history/{version}/"
    assert SECRET not in client.get(url).content.decode()
    # Going back to that version would write a note this admin may not read.
    assert client.post(url, {"minimum": 2, "months": 6}).status_code == 403
    cleared = make_user(Role.ADMIN, Marking.NS)
    client.force_login(cleared)
    html = client.get(f"/admin/roadmap/target/{noted.pk}/history/").content.decode()
    assert SECRET in html
    assert banners(client.get(f"/admin/roadmap/target/{noted.pk}/history/"))[0][1] == "NS"


def test_the_admin_offers_note_markings_up_to_its_clearance(client, db):
    admin = make_user(Role.ADMIN, Marking.NC)
    client.force_login(admin)
    page = client.get("/admin/roadmap/target/add/").content.decode()
    select = page[page.index('name="note_marking"') :]
    select = select[: select.index("</select>")]
    assert re.findall(r'<option value="(N[URCS])"', select) == ["NU", "NR", "NC"]
