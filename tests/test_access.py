"""A user's role and permissions, read together in one query (User.access and
accounts.backends.ModelBackend): the same answers as Django's own backend, for fewer
queries on every page."""

import pytest
from django.contrib.auth import backends as django_backends
from django.contrib.auth.models import Group, Permission

from accounts.choices import Marking, Role
from accounts.models import User
from tests.factories import make_user


def fresh(user):
    """The user as the next request loads it (nothing read yet)."""
    return User.objects.get(pk=user.pk)


def permission(dotted):
    app_label, codename = dotted.split(".")
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


@pytest.mark.parametrize("role", [Role.ANALYST, Role.MANAGER, Role.ADMIN])
def test_the_same_permissions_as_djangos_backend(db, role):
    user = make_user(role)
    user.user_permissions.add(permission("partners.add_partner"))  # one of its own
    ours = fresh(user).get_all_permissions()
    assert ours == django_backends.ModelBackend().get_all_permissions(fresh(user))
    assert "partners.add_partner" in ours and "engagements.view_engagement" in ours
    assert fresh(user).role == role


def test_role_and_permissions_are_one_query(db, django_assert_num_queries):
    manager = fresh(make_user(Role.MANAGER))
    with django_assert_num_queries(1):
        assert manager.role == Role.MANAGER
        assert manager.has_perm("engagements.delete_engagement")
        assert not manager.has_perm("partners.change_partner")
        assert manager.has_perms(["engagements.add_engagement", "roadmap.add_target"])


def test_a_group_without_permissions_still_gives_its_role(db):
    analyst = make_user(Role.ANALYST)
    Group.objects.get(name=Role.ANALYST).permissions.clear()
    assert fresh(analyst).role == Role.ANALYST
    assert fresh(analyst).get_all_permissions() == set()


def test_own_permissions_without_a_role(db):
    nobody = User.objects.create_user("nobody", password="a-long-test-password-1")
    nobody.user_permissions.add(permission("engagements.view_engagement"))
    assert fresh(nobody).role is None
    assert fresh(nobody).has_perm("engagements.view_engagement")
    assert not fresh(nobody).has_perm("engagements.add_engagement")


def test_inactive_users_and_superusers(db):
    manager = make_user(Role.MANAGER)
    manager.is_active = False
    manager.save()
    assert fresh(manager).get_all_permissions() == set()
    assert not fresh(manager).has_perm("engagements.view_engagement")
    root = User.objects.create_superuser("root", password="a-long-test-password-1")
    assert fresh(root).role == Role.ADMIN
    assert fresh(root).get_all_permissions() == set(
        f"{app}.{code}"
        for app, code in Permission.objects.values_list("content_type__app_label", "codename")
    )


def test_a_changed_role_counts_from_the_next_request(client, db):
    """A role given counts from the next request; a role taken away also signs the user
    out everywhere (accounts.credentials)."""
    user = make_user(Role.MANAGER, Marking.NS)
    user.groups.clear()
    client.force_login(user)
    assert client.get("/engagements/new/").status_code == 403
    user.groups.add(Group.objects.get(name=Role.ANALYST))
    page = client.get("/saved-views/").content.decode()
    assert "· analyst ·" in page and "Log engagement" in page
    user.groups.add(Group.objects.get(name=Role.MANAGER))
    assert "· manager ·" in client.get("/saved-views/").content.decode()
    user.groups.remove(Group.objects.get(name=Role.MANAGER))
    assert client.get("/saved-views/").url.startswith("/accounts/login/")


def test_module_object_and_anonymous_checks_match_djangos(db):
    from django.contrib.auth.models import AnonymousUser

    from accounts.backends import ModelBackend

    ours, djangos = ModelBackend(), django_backends.ModelBackend()
    analyst = make_user(Role.ANALYST)
    for app_label in ("engagements", "partners", "roadmap", "auth"):
        assert ours.has_module_perms(fresh(analyst), app_label) == djangos.has_module_perms(
            fresh(analyst), app_label
        ), app_label
    assert ours.get_all_permissions(fresh(analyst), obj=analyst) == set()
    assert not ours.has_perm(fresh(analyst), "engagements.add_engagement", obj=analyst)
    assert ours.get_all_permissions(AnonymousUser()) == set()
    assert set(ours.with_perm("engagements.delete_engagement")) == set(
        djangos.with_perm("engagements.delete_engagement")
    )
