"""Import in the browser (issue 12, item 7), tested as the page meets a person: upload,
a preview with every row's problems by line and field (nothing stored), confirm (all or
nothing). Partner names and other names work in the command too: one importer."""

import csv
import io

import pytest
from django.core.management import call_command
from openpyxl import Workbook

from accounts.choices import Marking, Role
from engagements.models import Engagement
from tests.factories import make_user
from tests.test_import import BAD_DATES, GOOD, HEADER, UNKNOWN_PARTNER

pytestmark = pytest.mark.usefixtures("reference_data")


def csv_file(rows, name="engagements.csv"):
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    upload = io.BytesIO(text.getvalue().encode())
    upload.name = name
    return upload


@pytest.fixture
def analyst(client):
    user = make_user(Role.ANALYST, Marking.NR, username="importer")
    client.force_login(user)
    return user


def test_a_file_with_bad_rows_shows_every_problem_and_stores_nothing(client, analyst):
    response = client.post(
        "/engagements/import/", {"file": csv_file([HEADER, GOOD, UNKNOWN_PARTNER, BAD_DATES])}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Nothing was imported: 3 problems in engagements.csv" in page
    lines = {row["line"]: row for row in response.context["lines"]}
    assert lines[3]["problems"] == [("partners", "No partner with code “ZZZ”.")]
    assert ("end_date", "The end date cannot be before the start date.") in lines[4]["problems"]
    assert lines[4]["problems"][1][0] == "facets"
    # The good row says what it would have created.
    assert lines[2]["problems"] == [] and lines[2]["created"]["partners"] == [
        "Philippines",
        "Japan",
    ]
    assert "<strong>partners</strong>: No partner with code “ZZZ”." in page
    assert 'name="token"' not in page  # nothing to confirm
    assert not Engagement.objects.exists()


def test_a_good_file_is_previewed_then_stored_on_confirmation(client, analyst):
    second = ["Mekong flood drill", *GOOD[1:6], "Vietnam; Lao PDR; jpn", *GOOD[7:]]
    response = client.post("/engagements/import/", {"file": csv_file([HEADER, GOOD, second])})
    page = response.content.decode()
    assert "Preview of engagements.csv: 2 engagements to create" in page
    lines = response.context["lines"]
    assert [line["created"]["title"] for line in lines] == ["Port visit", "Mekong flood drill"]
    assert lines[1]["created"]["partners"] == [
        "Viet Nam",
        "Lao People's Democratic Republic",
        "Japan",
    ]
    assert not Engagement.objects.exists()  # a preview stores nothing

    token = response.context["token"]
    response = client.post("/engagements/import/", {"token": token})
    assert response.status_code == 302 and response.url == "/engagements/"
    stored = Engagement.objects.get(title="Mekong flood drill")
    assert [link.partner.code for link in stored.partner_links.all()] == ["VNM", "LAO", "JPN"]
    assert stored.created_by == analyst and stored.history.count() == 1
    assert Engagement.objects.count() == 2
    # The token was for one confirmation only.
    response = client.post("/engagements/import/", {"token": token}, follow=True)
    assert "no longer waiting" in response.content.decode()
    assert Engagement.objects.count() == 2


def test_confirming_needs_the_token_of_this_users_own_preview(client, analyst):
    token = client.post("/engagements/import/", {"file": csv_file([HEADER, GOOD])}).context["token"]
    response = client.post("/engagements/import/", {"token": "guessed"}, follow=True)
    assert "no longer waiting" in response.content.decode()
    # The file waits in the uploader's session: another user's token does nothing.
    client.force_login(make_user(Role.ANALYST, Marking.NR))
    response = client.post("/engagements/import/", {"token": token}, follow=True)
    assert "no longer waiting" in response.content.decode()
    assert not Engagement.objects.exists()


def test_rows_are_checked_again_on_confirmation(client, analyst):
    """Between preview and confirm the clearance drops: the confirm stores nothing."""
    response = client.post("/engagements/import/", {"file": csv_file([HEADER, GOOD])})
    analyst.clearance = Marking.NU
    analyst.save()
    response = client.post("/engagements/import/", {"token": response.context["token"]})
    assert response.status_code == 200
    assert "marking" in dict((f, m) for _, f, m in response.context["result"].errors)
    assert not Engagement.objects.exists()


@pytest.mark.parametrize(
    "upload, message",
    [
        (csv_file([[*HEADER, "colour"], [*GOOD, "red"]]), "unknown columns: colour."),
        (csv_file([HEADER], name="notes.txt"), "give a .csv or .xlsx file."),
        (csv_file([HEADER]), "no rows below the header."),
    ],
)
def test_a_file_that_cannot_be_read_says_why_beside_the_field(client, analyst, upload, message):
    response = client.post("/engagements/import/", {"file": upload})
    assert response.context["form"].errors["file"] == [f"{upload.name}: {message}"]
    assert 'id="error-summary"' in response.content.decode()


def test_size_and_row_limits(client, analyst, settings, monkeypatch):
    monkeypatch.setattr("engagements.forms.IMPORT_MAX_BYTES", 100)
    response = client.post("/engagements/import/", {"file": csv_file([HEADER, GOOD])})
    assert "the page takes up to 100" in response.content.decode()
    monkeypatch.setattr("engagements.forms.IMPORT_MAX_BYTES", 1_000_000)
    monkeypatch.setattr("engagements.forms.IMPORT_MAX_ROWS", 1)
    response = client.post("/engagements/import/", {"file": csv_file([HEADER, GOOD, GOOD])})
    assert "2 rows; the page takes up to 1 at once." in response.content.decode()


def test_an_xlsx_file_is_previewed_too(client, analyst):
    workbook = Workbook()
    workbook.active.append(HEADER)
    workbook.active.append(GOOD)
    upload = io.BytesIO()
    workbook.save(upload)
    upload.seek(0)
    upload.name = "engagements.xlsx"
    response = client.post("/engagements/import/", {"file": upload})
    assert response.context["lines"][0]["created"]["title"] == "Port visit"
    assert response.context["token"]


def test_the_command_takes_partner_names_and_other_names(tmp_path):
    row = ["Mekong flood drill", *GOOD[1:6], "Vietnam; Lao PDR; Republic of Korea", *GOOD[7:]]
    path = tmp_path / "names.csv"
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows([HEADER, row])
    call_command("import_engagements", str(path), stdout=io.StringIO())
    engagement = Engagement.objects.get()
    assert [link.partner.code for link in engagement.partner_links.all()] == ["VNM", "LAO", "KOR"]


def test_the_list_links_to_the_import_page(client, analyst):
    assert 'href="/engagements/import/"' in client.get("/engagements/").content.decode()
