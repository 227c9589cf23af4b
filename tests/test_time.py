""" "Today" is the deployment's local day (DJANGO_TIME_ZONE), not the UTC one."""

import datetime
import os
import subprocess
import sys
from unittest import mock

import pytest
from django.conf import settings as django_settings
from rest_framework.test import APIClient

from tests.factories import make_engagement

pytestmark = pytest.mark.usefixtures("reference_data")

# 20:00 UTC on 31 January is 03:00 on 1 February in Jakarta (UTC+7).
EVENING_IN_UTC = datetime.datetime(2026, 1, 31, 20, 0, tzinfo=datetime.UTC)


def manage(*args, **env):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "DJANGO_DEBUG": "1", **env},
        cwd=django_settings.BASE_DIR,
    )


def test_the_time_zone_comes_from_the_environment():
    result = manage("diffsettings", DJANGO_TIME_ZONE="Asia/Jakarta")
    assert result.returncode == 0, result.stderr
    assert "TIME_ZONE = 'Asia/Jakarta'" in result.stdout


def test_a_bad_time_zone_refuses_to_start():
    result = manage("check", DJANGO_TIME_ZONE="Asia/Atlantis")
    assert result.returncode != 0
    assert "DJANGO_TIME_ZONE" in result.stderr and "Asia/Atlantis" in result.stderr


@pytest.fixture
def early_morning_in_jakarta(settings):
    settings.TIME_ZONE = "Asia/Jakarta"
    with mock.patch("django.utils.timezone.now", return_value=EVENING_IN_UTC):
        yield


def test_report_periods_end_on_the_local_day(early_morning_in_jakarta, analyst):
    api = APIClient()
    api.force_authenticate(analyst)
    coverage = api.get("/api/v1/reports/coverage/").json()
    assert (coverage["start"], coverage["end"]) == ("2025-02-02", "2026-02-01")
    trend = api.get("/api/v1/reports/trend/").json()
    assert trend["end"] == "2026-02-01"
    assert trend["periods"][-1]["period"] == "2026-02"


def test_the_gaps_report_counts_what_happened_today_locally(early_morning_in_jakarta, analyst):
    make_engagement(partners=["JPN"], pillars=["dialogue"], start_date=datetime.date(2026, 2, 1))
    api = APIClient()
    api.force_authenticate(analyst)
    gaps = {(gap["partner"], gap["pillar"]) for gap in api.get("/api/v1/reports/gaps/").json()}
    assert ("JPN", "security") in gaps
    assert ("JPN", "dialogue") not in gaps
