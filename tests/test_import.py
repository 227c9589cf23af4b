import csv
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from openpyxl import Workbook

from accounts.choices import Marking, Role
from engagements.models import Engagement
from tests.factories import make_engagement, make_user
from tests.test_fields import WRITABLE_FIELDS

pytestmark = pytest.mark.usefixtures("reference_data")

HEADER = WRITABLE_FIELDS
GOOD = [
    "Port visit",
    "other",
    "completed",
    "2025-03-01",
    "",
    "Manila",
    "PHL; JPN",
    "security",
    "security.maritime",
    "1; 4",
    "NR",
    "low",
    "Visit.",
    "Agreed.",
]
UNKNOWN_PARTNER = ["Who?", "exercise", "planned", "2025-03-05", "", "", "ZZZ", "economic"]
UNKNOWN_PARTNER += ["", "", "NU", "low", "", ""]
BAD_DATES = ["Bad dates", "exercise", "planned", "2025-03-05", "2025-03-01", "", "JPN"]
BAD_DATES += ["economic", "security.cyber", "", "NU", "low", "", ""]


def write_csv(path, rows):
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def run(*args):
    out = io.StringIO()
    call_command("import_engagements", *map(str, args), stdout=out)
    return out.getvalue()


def test_a_good_csv_is_imported_whole(tmp_path):
    path = write_csv(tmp_path / "in.csv", [HEADER, GOOD, ["Second", *GOOD[1:]]])
    assert "imported 2 engagements" in run(path)
    engagement = Engagement.objects.get(title="Port visit")
    assert [link.partner.code for link in engagement.partner_links.all()] == ["PHL", "JPN"]
    assert list(engagement.tips.values_list("number", flat=True)) == [1, 4]
    assert engagement.end_date is None and engagement.marking == "NR"
    assert engagement.history.count() == 1  # imports write history like any other path


def test_a_file_with_a_bad_row_stores_nothing_and_says_where(tmp_path):
    path = write_csv(tmp_path / "in.csv", [HEADER, GOOD, UNKNOWN_PARTNER, BAD_DATES])
    with pytest.raises(CommandError) as error:
        run(path)
    message = str(error.value)
    assert "nothing imported" in message
    assert "line 3, partners: No partner with code “ZZZ”." in message
    assert "line 4, end_date: The end date cannot be before the start date." in message
    assert "line 4, facets: “Cyber Threats” belongs to the pillar" in message
    assert not Engagement.objects.exists()


def test_dry_run_checks_without_storing(tmp_path):
    path = write_csv(tmp_path / "in.csv", [HEADER, GOOD])
    assert "1 rows are valid (dry run" in run(path, "--dry-run")
    assert not Engagement.objects.exists()


def test_xlsx_and_the_users_clearance(tmp_path):
    workbook = Workbook()
    workbook.active.append(HEADER)
    workbook.active.append(GOOD)
    path = tmp_path / "in.xlsx"
    workbook.save(path)
    make_user(Role.ANALYST, Marking.NU, username="low")
    with pytest.raises(CommandError, match="line 2, marking: You cannot mark"):
        run(path, "--user", "low")
    make_user(Role.ANALYST, Marking.NS, username="high")
    run(path, "--user", "high")
    assert Engagement.objects.get().created_by.username == "high"


def test_an_export_imports_back(client, tmp_path):
    make_engagement(title="Round trip", partners=["KOR", "JPN"], pillars=["dialogue"], tips=[5])
    client.force_login(make_user(Role.ANALYST, Marking.NS))
    exported = b"".join(client.get("/engagements/?format=csv").streaming_content)
    path = tmp_path / "export.csv"
    path.write_bytes(exported)
    Engagement.objects.all().delete()
    run(path)
    engagement = Engagement.objects.get()
    assert engagement.title == "Round trip"
    assert [link.partner.code for link in engagement.partner_links.all()] == ["KOR", "JPN"]


def test_unknown_columns_and_files_are_refused(tmp_path):
    with pytest.raises(CommandError, match="unknown columns: colour"):
        run(write_csv(tmp_path / "in.csv", [[*HEADER, "colour"], [*GOOD, "red"]]))
    with pytest.raises(CommandError, match="no such file"):
        run(tmp_path / "missing.csv")
    with pytest.raises(CommandError, match="give a .csv or .xlsx"):
        run(write_csv(tmp_path / "in.txt", [HEADER]))
