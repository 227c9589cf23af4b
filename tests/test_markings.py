"""Markings on screen and on paper (CONTRACT.md, "Sign-in, sessions and the audit trail"):
a banner at the top and bottom of every signed-in page naming the highest marking the page
shows, file names and XLSX headers and footers that name the highest marking in the file,
an audit entry for every download, and banner colours readable at 4.5:1."""

import csv
import datetime
import io
import pathlib
import re

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from accounts.choices import Marking, Role
from accounts.models import AuditEntry
from engagements.models import Action
from roadmap.models import Pillar, Target
from tests.factories import make_engagement, make_user
from tests.test_report_pages import contrast

pytestmark = pytest.mark.usefixtures("reference_data")


def days(n):
    return timezone.localdate() + datetime.timedelta(days=n)


BANNER = re.compile(
    r'<div class="marking-banner marking-banner-(N[URCS])" role="region" '
    r'aria-label="Classification of this page \((top|bottom)\)" data-marking="\1">([A-Z ]+)</div>'
)


def banners(response):
    """[(place, code, label)] of the page's marking banners, in page order."""
    assert response.status_code == 200
    html = response.content.decode()
    return [(place, code, label) for code, place, label in BANNER.findall(html)]


def marked(response, label):
    """Whether the page has exactly its two banners, top then bottom, naming `label`."""
    found = banners(response)
    code = {Marking.banner(value): value for value in Marking.values}[label]
    return found == [("top", code, label), ("bottom", code, label)]


# Pages -------------------------------------------------------------------------------


def test_an_ns_engagement_page_is_marked_secret_at_top_and_bottom(client, analyst_ns):
    engagement = make_engagement(title="Operation Nebula", marking="NS")
    client.force_login(analyst_ns)
    response = client.get(f"/engagements/{engagement.pk}/")
    assert marked(response, "NATO SECRET")
    html = response.content.decode()
    top, bottom = html.index("marking-banner"), html.rindex("marking-banner")
    assert top < html.index("<main") < html.index("Operation Nebula", top) < bottom
    assert bottom > html.index("</main>")


def test_a_page_that_shows_nothing_marked_is_unclassified(client, analyst_ns):
    make_engagement(title="Operation Nebula", marking="NS")
    client.force_login(analyst_ns)
    assert marked(client.get("/partners/"), "NATO UNCLASSIFIED")
    assert marked(client.get("/engagements/?search=nothing-like-this"), "NATO UNCLASSIFIED")


def test_a_page_signed_out_has_no_banner(client):
    page = client.get("/accounts/login/")
    assert banners(page) == [] and "marking-banner" not in page.content.decode()


def test_the_list_names_the_highest_marking_of_its_rows(client, analyst_ns):
    make_engagement(title="Open talks", marking="NU")
    make_engagement(title="Staff talks", marking="NR", partners=["KOR"])
    client.force_login(analyst_ns)
    assert marked(client.get("/engagements/"), "NATO RESTRICTED")
    # Only the rows shown count: the NR one filtered out, the page is unclassified.
    assert marked(client.get("/engagements/?partner=JPN"), "NATO UNCLASSIFIED")


def test_a_reader_below_a_marking_never_sees_it_named(client, analyst_nr):
    make_engagement(title="Operation Nebula", marking="NS", start_date=days(-3))
    make_engagement(title="Staff talks", marking="NR", partners=["KOR"], start_date=days(-3))
    make_engagement(title="Talks", marking="NR", partners=["JPN"], start_date=days(-3))
    client.force_login(analyst_nr)
    for url in ["/engagements/", "/", "/reports/coverage/", "/partners/JPN/"]:
        assert marked(client.get(url), "NATO RESTRICTED"), url


def test_reports_name_the_highest_marking_of_what_they_count(client, manager_ns):
    # An NC completed engagement counted in the coverage and trend of the last 12 months.
    make_engagement(title="Confidential talks", marking="NC", start_date=days(-30))
    client.force_login(manager_ns)
    for url in ["/reports/coverage/", "/reports/trend/", "/roadmap/", "/"]:
        assert marked(client.get(url), "NATO CONFIDENTIAL"), url
    # A period it is not in counts nothing of it.
    old = "/reports/coverage/?start=2001-01-01&end=2001-12-31"
    assert marked(client.get(old), "NATO UNCLASSIFIED")


def test_a_gap_is_marked_by_the_engagement_that_dates_it(client, manager_ns):
    make_engagement(title="Old exercise", start_date=datetime.date(2020, 3, 1), marking="NR")
    client.force_login(manager_ns)
    response = client.get("/reports/gaps/")
    assert "2020-03-01" in response.content.decode()
    assert marked(response, "NATO RESTRICTED")


def test_the_partner_profile_and_the_dashboard_name_their_highest(client, analyst_ns):
    engagement = make_engagement(
        title="Staff talks", marking="NC", partners=["IDN"], start_date=days(-3)
    )
    Action.objects.create(
        engagement=engagement, title="Minutes", owner=analyst_ns, due="2030-01-01"
    )
    client.force_login(analyst_ns)
    assert marked(client.get("/partners/IDN/"), "NATO CONFIDENTIAL")
    assert marked(client.get("/partners/JPN/"), "NATO UNCLASSIFIED")
    assert marked(client.get("/actions/"), "NATO CONFIDENTIAL")


def test_the_brief_is_marked_like_its_banners(client, analyst_ns):
    make_engagement(title="Staff talks", marking="NR", partners=["IDN"], start_date=days(-3))
    client.force_login(analyst_ns)
    response = client.get("/partners/IDN/brief/")
    assert marked(response, "NATO RESTRICTED")
    assert 'data-marking="NR">NATO RESTRICTED</p>' in response.content.decode()


def test_admin_pages_carry_the_banners(client, admin_ns):
    engagement = make_engagement(title="Operation Nebula", marking="NS")
    client.force_login(admin_ns)
    change = client.get(f"/admin/engagements/engagement/{engagement.pk}/change/")
    assert marked(change, "NATO SECRET")
    assert marked(client.get("/admin/engagements/engagement/"), "NATO SECRET")
    assert marked(client.get("/admin/roadmap/pillar/"), "NATO UNCLASSIFIED")
    assert marked(client.get("/admin/"), "NATO UNCLASSIFIED")


def test_the_admin_index_is_marked_by_the_objects_it_names(client, admin_ns):
    engagement = make_engagement(title="Operation Nebula", marking="NR")
    client.force_login(admin_ns)
    url = f"/admin/engagements/engagement/{engagement.pk}/change/"
    client.get(url)
    from django.contrib.admin.models import CHANGE, LogEntry
    from django.contrib.contenttypes.models import ContentType

    LogEntry.objects.create(
        user=admin_ns,
        content_type=ContentType.objects.get_for_model(engagement),
        object_id=str(engagement.pk),
        object_repr=engagement.title,
        action_flag=CHANGE,
    )
    response = client.get("/admin/")
    assert "Operation Nebula" in response.content.decode()
    assert marked(response, "NATO RESTRICTED")


def test_the_banner_colours_are_readable_and_conventional():
    css = (pathlib.Path(__file__).parents[1] / "static" / "css" / "markings.css").read_text()
    rules = dict(
        (code, (background, colour))
        for code, background, colour in re.findall(
            r"\.marking-banner-(N[URCS]) \{ background: (#[0-9a-f]{6}); color: (#[0-9a-f]{6}); \}",
            css,
        )
    )
    assert sorted(rules) == sorted(Marking.values)
    for code, (background, colour) in rules.items():
        assert contrast(colour, background) >= 4.5, (code, background, colour)

    def hue(hex_colour):
        red, green, blue = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
        return max(("red", red), ("green", green), ("blue", blue), key=lambda pair: pair[1])[0]

    # Unclassified green, confidential blue, secret red; restricted amber (red over blue).
    assert hue(rules["NU"][0]) == "green"
    assert hue(rules["NC"][0]) == "blue"
    assert hue(rules["NS"][0]) == "red"
    red, green, blue = (int(rules["NR"][0][i : i + 2], 16) for i in (1, 3, 5))
    assert red > green > blue


# Downloads ---------------------------------------------------------------------------


def download(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    body = b"".join(response.streaming_content) if response.streaming else response.content
    name = re.search(r'filename="([^"]+)"', response["Content-Disposition"]).group(1)
    return name, body


def test_a_download_is_named_by_its_highest_marking(client, analyst_ns):
    make_engagement(title="Open talks", marking="NU", start_date=days(-10))
    make_engagement(title="Operation Nebula", marking="NS", partners=["KOR"], start_date=days(-9))
    client.force_login(analyst_ns)
    name, body = download(client, "/engagements/?format=csv")
    assert name == "engagements-NS.csv"
    assert len(list(csv.reader(io.StringIO(body.decode())))) == 3
    name, _ = download(client, "/engagements/?format=csv&partner=JPN")
    assert name == "engagements-NU.csv"
    name, _ = download(client, "/reports/coverage/?format=csv")
    assert name == "coverage-NS.csv"
    name, _ = download(client, "/reports/gaps/?format=xlsx")
    assert name == "gaps-NU.xlsx"  # the NS engagement is recent: it dates no gap


def test_an_xlsx_carries_its_marking_in_every_sheets_header_and_footer(client, analyst_ns):
    make_engagement(title="Staff talks", marking="NC", start_date=days(-10))
    client.force_login(analyst_ns)
    for url in ["/engagements/?format=xlsx", "/reports/coverage/?format=xlsx"]:
        name, body = download(client, url)
        assert name.endswith("-NC.xlsx")
        workbook = load_workbook(io.BytesIO(body))
        for sheet in workbook.worksheets:
            assert sheet.oddHeader.center.text == "NATO CONFIDENTIAL"
            assert sheet.oddHeader.center.font == "-,Bold"
            assert sheet.oddFooter.center.text == "NATO CONFIDENTIAL"


def test_every_download_is_audited_with_its_rows_filters_and_marking(client, analyst_ns):
    make_engagement(title="Open talks", marking="NU", start_date=days(-10))
    make_engagement(title="Staff talks", marking="NR", partners=["KOR"], start_date=days(-10))
    client.force_login(analyst_ns)
    download(client, "/engagements/?format=csv&partner=KOR")
    download(client, "/engagements/?format=xlsx")
    _, trend = download(client, "/reports/trend/?format=csv&interval=quarter")
    periods = len(trend.decode().splitlines()) - 1  # below the header
    entries = list(AuditEntry.objects.filter(action="download").order_by("sequence"))
    assert [(e.object_type, e.marking, e.detail["rows"], e.detail["format"]) for e in entries] == [
        ("engagements", "NR", 1, "csv"),
        ("engagements", "NR", 2, "xlsx"),
        ("trend", "NR", periods, "csv"),
    ]
    assert entries[0].detail["filters"] == "format=csv&partner=KOR"
    assert entries[0].user == analyst_ns


def test_a_streamed_download_is_audited_once_written(client, analyst_ns):
    make_engagement(title="Open talks")
    client.force_login(analyst_ns)
    response = client.get("/engagements/?format=csv")
    assert not AuditEntry.objects.filter(action="download").exists()  # nothing written yet
    b"".join(response.streaming_content)
    assert AuditEntry.objects.filter(action="download", object_type="engagements").count() == 1


def test_the_brief_and_a_calendar_fetch_are_audited(client, analyst_ns):
    make_engagement(title="Far off", status="planned", start_date=days(400))
    make_engagement(
        title="Talks", status="planned", marking="NR", partners=["IDN"], start_date=days(5)
    )
    client.force_login(analyst_ns)
    client.get("/partners/IDN/brief/")
    brief = AuditEntry.objects.get(action="download", object_type="partner_brief")
    assert (brief.marking, brief.detail["filters"], brief.detail["rows"]) == (
        "NR",
        {"partner": "IDN"},
        1,
    )
    page = client.get("/calendar/").content.decode()
    address = re.search(r"/calendar/[A-Za-z0-9_-]+\.ics", page).group(0)
    client.logout()
    response = client.get(address)
    assert response["Content-Disposition"] == 'inline; filename="engagements-NR.ics"'
    fetch = AuditEntry.objects.get(action="download", object_type="calendar")
    assert (fetch.user, fetch.marking, fetch.detail["rows"]) == (analyst_ns, "NR", 1)


def test_the_import_problems_file_is_named_by_the_markings_in_it(client, analyst_ns):
    header = "title,kind,status,start_date,partners,pillars,marking\n"
    rows = "Talks,staff_talks,completed,2025-01-01,NOWHERE,dialogue,NC\n"
    upload = io.BytesIO((header + rows).encode())
    upload.name = "file.csv"
    client.force_login(analyst_ns)
    response = client.post("/engagements/import/", {"file": upload})
    assert marked(response, "NATO CONFIDENTIAL")  # the preview shows the file's rows
    token = response.context["token"]
    name, _ = download(client, f"/engagements/import/problems.csv?token={token}")
    assert name == "import-problems-NC.csv"
    entry = AuditEntry.objects.get(action="download", object_type="import-problems")
    assert entry.detail["filters"] == ""  # the token is not kept


# Report markings, worked out by hand ---------------------------------------------------


def test_a_targets_marking_is_what_its_numbers_draw_on(manager_ns):
    from reports import queries

    pillar = Pillar.objects.get(code="dialogue")
    Target.objects.create(
        partner_id=make_engagement(partners=["IDN"], marking="NR", start_date=days(-5))
        .partner_links.get()
        .partner_id,
        pillar=pillar,
        minimum=1,
        months=6,
    )
    (row,) = queries.plan(manager_ns)["targets"]
    assert (row["done"], row["marking"]) == (1, "NR")
    reader = make_user(Role.MANAGER, Marking.NU)
    (row,) = queries.plan(reader)["targets"]
    assert (row["done"], row["marking"]) == (0, "NU")
