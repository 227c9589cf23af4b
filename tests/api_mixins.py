"""Reusable API checks in the style of NetBox's `APIViewTestCases`.

A resource's test class sets a few attributes and inherits the tests for what it offers
(list and detail, create, update and delete), each run for every role with the status
the contract expects. A read-only resource also proves that it refuses writes.
"""

import pytest
from rest_framework.test import APIClient

ROLES = ("anonymous", "analyst", "manager", "admin")


class ResourceTestBase:
    list_url = None  # e.g. "/api/v1/partners/"
    create_data = None  # a valid POST body, or None when the resource has no create
    update_data = None  # a valid PATCH body (without version), or None
    # Expected status per action and role; a resource overrides what differs.
    expected = {
        "list": {"anonymous": 401, "analyst": 200, "manager": 200, "admin": 200},
        "detail": {"anonymous": 401, "analyst": 200, "manager": 200, "admin": 200},
        "create": {"anonymous": 401, "analyst": 403, "manager": 403, "admin": 201},
        "update": {"anonymous": 401, "analyst": 403, "manager": 403, "admin": 200},
        "delete": {"anonymous": 401, "analyst": 403, "manager": 403, "admin": 204},
    }

    def make_object(self, users):
        """Create one object; return its detail URL."""
        raise NotImplementedError

    def object_version(self, url):
        return None

    @pytest.fixture
    def users(self, reference_data, analyst_ns, manager_ns, admin_ns):
        """The conftest cast by the names of ROLES."""
        return {"analyst": analyst_ns, "manager": manager_ns, "admin": admin_ns}

    def client_for(self, users, role):
        client = APIClient()
        if role != "anonymous":
            client.force_authenticate(users[role])
        return client


class ListAndDetailTests(ResourceTestBase):
    @pytest.mark.parametrize("role", ROLES)
    def test_list(self, users, role):
        self.make_object(users)
        response = self.client_for(users, role).get(self.list_url)
        assert response.status_code == self.expected["list"][role]
        if response.status_code == 200:
            body = response.json()
            results = body["results"] if isinstance(body, dict) else body
            assert results, "the list shows the object"

    @pytest.mark.parametrize("role", ROLES)
    def test_detail(self, users, role):
        url = self.make_object(users)
        assert self.client_for(users, role).get(url).status_code == self.expected["detail"][role]


class ReadOnlyTests(ResourceTestBase):
    def test_writes_are_refused(self, users):
        url = self.make_object(users)
        admin = self.client_for(users, "admin")
        assert admin.post(self.list_url, {}, format="json").status_code == 405
        assert admin.patch(url, {}, format="json").status_code == 405
        assert admin.delete(url).status_code == 405


class CreateTests(ResourceTestBase):
    @pytest.mark.parametrize("role", ROLES)
    def test_create(self, users, role):
        response = self.client_for(users, role).post(self.list_url, self.create_data, format="json")
        assert response.status_code == self.expected["create"][role], response.content


class UpdateAndDeleteTests(ResourceTestBase):
    @pytest.mark.parametrize("role", ROLES)
    def test_update(self, users, role):
        url = self.make_object(users)
        data = dict(self.update_data)
        version = self.object_version(url)
        if version is not None:
            data["version"] = version
        response = self.client_for(users, role).patch(url, data, format="json")
        assert response.status_code == self.expected["update"][role], response.content
        if response.status_code == 200:
            for field, value in self.update_data.items():
                assert response.json()[field] == value

    @pytest.mark.parametrize("role", ROLES)
    def test_delete(self, users, role):
        url = self.make_object(users)
        client = self.client_for(users, role)
        version = self.object_version(url)  # a versioned resource's delete carries it
        response = client.delete(url, **({"HTTP_IF_MATCH": f'"{version}"'} if version else {}))
        assert response.status_code == self.expected["delete"][role]
        if response.status_code == 204:
            assert self.client_for(users, "admin").get(url).status_code == 404


class APIResourceTests(ListAndDetailTests, CreateTests, UpdateAndDeleteTests):
    """Everything: list, detail, create, update, delete."""
