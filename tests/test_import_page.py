"""Import in the browser (issue 12, item 7), tested as the page meets a person: upload,
a preview with every row's problems by line and field (nothing stored), confirm (all or
nothing). Partner names and other names work in the command too: one importer."""

import csv
import io
import re
import zipfile

import pytest
from django.core.management import call_command
from openpyxl import Workbook, load_workbook

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
def analyst(client, analyst_nr):
    """Here the one who imports: the conftest cast's analyst cleared NR, signed in."""
    client.force_login(analyst_nr)
    return analyst_nr


def test_a_file_with_bad_rows_shows_every_problem_and_stores_nothing(client, analyst):
    response = client.post(
        "/engagements/import/", {"file": csv_file([HEADER, GOOD, UNKNOWN_PARTNER, BAD_DATES])}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Nothing imported yet: 3 problems in engagements.csv" in page
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
    # Not all of it (it has bad rows), only the valid one.
    assert 'value="all"' not in page and "Import the 1 valid row" in page
    assert not Engagement.objects.exists()


def test_the_valid_rows_are_imported_and_the_others_downloaded_with_their_problems(client, analyst):
    response = client.post(
        "/engagements/import/", {"file": csv_file([HEADER, GOOD, UNKNOWN_PARTNER, BAD_DATES])}
    )
    token = response.context["token"]
    problems = client.get(f"/engagements/import/problems.csv?token={token}")
    assert problems["Content-Disposition"] == 'attachment; filename="import-problems-NU.csv"'
    table = list(csv.reader(io.StringIO(b"".join(problems.streaming_content).decode())))
    assert table[0] == [*HEADER, "errors"]
    assert [row[0] for row in table[1:]] == ["Who?", "Bad dates"]
    assert table[1][-1] == "partners: No partner with code “ZZZ”."
    assert table[1][6] == "ZZZ"  # as the file had it, to be fixed and imported again
    response = client.post("/engagements/import/", {"token": token, "rows": "valid"})
    assert response.status_code == 302
    assert list(Engagement.objects.values_list("title", flat=True)) == ["Port visit"]
    page = client.get(response.url).content.decode()
    assert "Imported 1 engagements from engagements.csv; 2 rows were not imported" in page
    # The problems stay downloadable until another file replaces them; the import is done.
    assert client.get(f"/engagements/import/problems.csv?token={token}").status_code == 200
    again = client.post("/engagements/import/", {"token": token, "rows": "valid"}, follow=True)
    assert "no longer waiting" in again.content.decode()
    assert Engagement.objects.count() == 1


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
    # Lands on the list, every date (the file's plans too), the newest logged first.
    assert response.status_code == 302
    assert response.url == "/engagements/?start_before=&ordering=-id"
    listed = client.get(response.url).context["page"]
    assert [e.title for e in listed] == ["Mekong flood drill", "Port visit"]
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
    assert "more than 1 rows; the page takes up to 1 at once." in response.content.decode()


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


# Imports that cannot take a worker (issue 21) -----------------------------------------


def xlsx_declaring(dimension, rows=(HEADER, GOOD)):
    """A small, valid XLSX file whose sheet declares `dimension` (say "A1:XFD180001"), as a
    hand-made file can: openpyxl would pad every declared row to the declared width."""
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    written = io.BytesIO()
    workbook.save(written)
    source = zipfile.ZipFile(io.BytesIO(written.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(
                    rb'<dimension ref="[^"]*"', f'<dimension ref="{dimension}"'.encode(), data
                )
            target.writestr(item, data)
    upload = io.BytesIO(out.getvalue())
    upload.name = "declared.xlsx"
    return upload


def test_a_sheet_declaring_more_rows_or_columns_than_the_page_takes_is_refused_unread(
    client, analyst, monkeypatch
):
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    def never(*args, **kwargs):
        raise AssertionError("a row was built")

    monkeypatch.setattr(ReadOnlyWorksheet, "_cells_by_row", never)
    for dimension, message in [
        ("A1:XFD180001", "the sheet declares 16,384 columns"),
        ("A1:N180001", "the sheet declares 180,000 rows below the header"),
    ]:
        upload = xlsx_declaring(dimension)
        assert len(upload.getvalue()) < 10_000
        response = client.post("/engagements/import/", {"file": upload})
        assert response.status_code == 200
        assert message in response.context["form"].errors["file"][0], dimension
    assert not Engagement.objects.exists()


def test_a_sheet_declaring_a_size_within_the_limits_is_read(client, analyst):
    response = client.post("/engagements/import/", {"file": xlsx_declaring("A1:N2")})
    assert response.context["lines"][0]["created"]["title"] == "Port visit"


def test_an_overlong_cell_is_a_line_error_and_is_not_echoed(client, analyst):
    title = "Pulsar" + "x" * 140_000
    response = client.post(
        "/engagements/import/", {"file": csv_file([HEADER, GOOD, [title, *GOOD[1:]]])}
    )
    assert response.status_code == 200
    errors = response.context["result"].errors
    assert errors == [(3, "title", "Longer than 20,000 characters.")]
    assert "Pulsar" not in response.content.decode()
    assert not Engagement.objects.exists()


def test_an_upload_over_the_limit_is_refused_before_it_is_read(client, analyst, monkeypatch):
    from django.http import multipartparser

    def never(*args, **kwargs):
        raise AssertionError("the body was read")

    monkeypatch.setattr(multipartparser.MultiPartParser, "parse", never)
    big = io.BytesIO(b"title\n" + b"x" * 2_000_000)
    big.name = "big.csv"
    response = client.post("/engagements/import/", {"file": big})
    assert response.status_code == 413
    assert "takes up to" in response.content.decode()
    # The API says it in JSON, for any body over the default limit.
    response = client.post(
        "/api/v1/engagements/", {"file": io.BytesIO(b"x" * 3_000_000)}, format="multipart"
    )
    assert response.status_code == 413


def test_the_preview_costs_the_same_few_queries_a_row(client, analyst):
    """Nine queries a row, whatever the number of rows (the preview used to read
    back every row's partners and pillars, and refresh the report summaries per row)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def preview(count):
        rows = [HEADER] + [[f"Visit {n}", *GOOD[1:]] for n in range(count)]
        with CaptureQueriesContext(connection) as queries:
            response = client.post("/engagements/import/", {"file": csv_file(rows)})
        assert len(response.context["result"].created) == count
        return len(queries)

    preview(1)  # the user's role and permissions are read once (User.access)
    ten, thirty = preview(10), preview(30)
    # A savepoint and its release; the engagement, its history row, its partners, pillars,
    # facets and tips, and its creator watching it: one insert each.
    assert (thirty - ten) / 20 == 9, (ten, thirty)
    assert not Engagement.objects.exists()


def test_facets_pillars_and_tips_are_taken_by_name_as_partners_are(client, analyst):
    row = [*GOOD]
    row[HEADER.index("pillars")] = "shared security concerns"
    row[HEADER.index("facets")] = "Maritime Security"
    row[HEADER.index("tips")] = "Strengthen Existing Partnerships; capacity-building"
    response = client.post("/engagements/import/", {"file": csv_file([HEADER, row])})
    assert not response.context["result"].errors
    client.post("/engagements/import/", {"token": response.context["token"], "rows": "all"})
    stored = Engagement.objects.get()
    assert [p.code for p in stored.pillars.all()] == ["security"]
    assert [f.code for f in stored.facets.all()] == ["security.maritime"]
    assert sorted(t.number for t in stored.tips.all()) == [1, 4]


@pytest.mark.parametrize("format", ["csv", "xlsx"])
def test_the_template_has_the_header_and_an_example_row_that_imports(client, analyst, format):
    response = client.get(f"/engagements/import/template.{format}")
    disposition = f'attachment; filename="engagements-template-NU.{format}"'  # its example
    assert response["Content-Disposition"] == disposition
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if format == "csv":
        table = list(csv.reader(io.StringIO(content.decode())))
    else:
        table = [list(row) for row in load_workbook(io.BytesIO(content)).active.values]
    assert table[0] == HEADER and len(table) == 2
    upload = io.BytesIO(content)
    upload.name = f"template.{format}"
    preview = client.post("/engagements/import/", {"file": upload})
    assert not preview.context["result"].errors
    assert preview.context["lines"][0]["created"]["partners"] == ["Viet Nam", "Japan"]


def test_the_codes_page_lists_every_code_and_name(client, analyst):
    page = client.get("/engagements/import/codes/").content.decode()
    for text in [
        "<code>VNM</code>",
        "Vietnam",
        "<code>hadr.emergency-response</code>",
        "Emergency Response",
        "<code>avoid-provocation</code>",
        "<code>staff_talks</code>",
    ]:
        assert text in page, text
    assert "<code>NS</code>" not in page  # markings up to the reader's clearance (NR)
    assert (
        'href="/engagements/import/codes/"' in client.get("/engagements/import/").content.decode()
    )


def xlsx_with_shared_strings(table):
    """A valid XLSX file (HEADER and GOOD) with a shared string table of `table` bytes
    (openpyxl writes none of its own; Excel does)."""
    upload = xlsx_declaring("A1:N2")
    source = zipfile.ZipFile(io.BytesIO(upload.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            target.writestr(item, source.read(item.filename))
        target.writestr("xl/sharedStrings.xml", table)
    bomb = io.BytesIO(out.getvalue())
    bomb.name = "strings.xlsx"
    return bomb


@pytest.mark.parametrize(
    "table, message",
    [
        # Seventy thousand empty strings: more than one per cell the page reads.
        (b'<sst xmlns="x">' + b"<si/>" * 70_000 + b"</sst>", "70,000 shared strings"),
        (b'<x:sst xmlns:x="x">' + b"<x:si/>" * 70_000 + b"</x:sst>", "70,000 shared strings"),
        # One string of 40 million characters: beyond what the page expands.
        (b'<sst xmlns="x"><si><t>' + b"a" * 40_000_000 + b"</t></si></sst>", "expand to"),
    ],
)
def test_a_shared_string_bomb_is_refused_before_openpyxl_reads_it(
    client, analyst, monkeypatch, table, message
):
    import core.tables

    def never(*args, **kwargs):
        raise AssertionError("openpyxl read the file")

    monkeypatch.setattr(core.tables, "load_workbook", never)
    upload = xlsx_with_shared_strings(table)
    assert len(upload.getvalue()) < 200_000
    response = client.post("/engagements/import/", {"file": upload})
    assert message in response.context["form"].errors["file"][0]
