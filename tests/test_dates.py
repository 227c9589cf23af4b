"""One date format on every page: the deployment's (DJANGO_DATE_FORMAT), ISO 8601 by default;
links, form values and downloads carry ISO dates whatever it is."""

import datetime
import importlib
import re

import pytest
from django.template import Context, Template
from django.utils import formats

from accounts.choices import Marking, Role
from tests.factories import make_engagement, make_user

pytestmark = pytest.mark.usefixtures("reference_data")


def test_pages_and_the_admin_write_iso_dates(client):
    make_engagement(title="Port call", start_date=datetime.date(2025, 3, 4))
    admin = make_user(Role.ADMIN, Marking.NS)
    client.force_login(admin)
    page = client.get("/engagements/?start_before=").content.decode()
    assert "2025-03-04" in page and "4 Mar 2025" not in page and "March 4" not in page
    admin_page = client.get("/admin/engagements/engagement/").content.decode()
    assert "2025-03-04" in admin_page and "4 Mar 2025" not in admin_page
    rendered = Template("{{ day|date }} {{ day }}").render(
        Context({"day": datetime.date(2025, 3, 4)})
    )
    assert rendered == "2025-03-04 2025-03-04"


def test_the_deployment_chooses_the_format(settings, client):
    import config.formats.en_GB.formats as module

    settings.TRACKER_DATE_FORMAT = "d/m/Y"
    try:
        importlib.reload(module)
        formats._format_cache.clear()
        formats._format_modules_cache.clear()
        make_engagement(title="Port call", start_date=datetime.date(2025, 3, 4))
        client.force_login(make_user(Role.ANALYST, Marking.NU))
        page = client.get("/engagements/?start_before=").content.decode()
        assert "04/03/2025" in page
        trend = client.get("/reports/trend/").content.decode()
        assert re.search(r"start_after=\d{4}-\d\d-\d\d", trend)  # links stay ISO
    finally:
        settings.TRACKER_DATE_FORMAT = "Y-m-d"
        importlib.reload(module)
        formats._format_cache.clear()
        formats._format_modules_cache.clear()
