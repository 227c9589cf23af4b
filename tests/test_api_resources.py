"""Each API resource through the shared list/detail/create/update/delete checks."""

import itertools

from roadmap.models import Tip, TipStatusUpdate
from tests.api_mixins import APIResourceTests, CreateTests, ListAndDetailTests, ReadOnlyTests
from tests.factories import make_engagement, make_partner

_codes = itertools.count(1)


class TestPartners(APIResourceTests):
    list_url = "/api/v1/partners/"
    create_data = {"code": "PNG", "name": "Papua New Guinea", "kind": "state", "region": "oceania"}
    update_data = {"notes": "Curated by an admin"}

    def make_object(self, users):
        return f"/api/v1/partners/{make_partner(code=f'X{next(_codes)}').code}/"


class TestEngagements(APIResourceTests):
    list_url = "/api/v1/engagements/"
    create_data = {
        "title": "Maritime law seminar",
        "kind": "workshop",
        "start_date": "2025-05-05",
        "partners": ["PHL"],
        "pillars": ["security"],
        "facets": ["security.maritime"],
        "marking": "NU",
    }
    update_data = {"title": "Maritime law seminar, revised"}
    expected = {
        **APIResourceTests.expected,
        "create": {"anonymous": 401, "analyst": 201, "manager": 201, "admin": 201},
        "update": {"anonymous": 401, "analyst": 200, "manager": 200, "admin": 200},
        # The object was logged by someone else: analysts delete only their own.
        "delete": {"anonymous": 401, "analyst": 403, "manager": 204, "admin": 204},
    }

    def make_object(self, users):
        return f"/api/v1/engagements/{make_engagement(partners=['PHL']).pk}/"

    def object_version(self, url):
        return 1


class TestPillars(ListAndDetailTests, ReadOnlyTests):
    list_url = "/api/v1/pillars/"

    def make_object(self, users):
        return "/api/v1/pillars/security/"


class TestTips(ListAndDetailTests, ReadOnlyTests):
    list_url = "/api/v1/tips/"

    def make_object(self, users):
        return "/api/v1/tips/4/"


class TestTipStatus(ListAndDetailTests, CreateTests):
    list_url = "/api/v1/tips/2/status/"
    create_data = {"status": "at_risk", "note": "Slipping"}
    expected = {
        **CreateTests.expected,
        "create": {"anonymous": 401, "analyst": 403, "manager": 201, "admin": 201},
    }

    def make_object(self, users):
        TipStatusUpdate.objects.create(tip=Tip.objects.get(number=2), status="on_track")
        return self.list_url
