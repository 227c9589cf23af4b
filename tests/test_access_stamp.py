"""A user's groups and permissions are read once per change (accounts/access.py): every
change of them, from any side, counts at the next request, on every process."""

import pytest
from django.contrib.auth.models import Group, Permission

from accounts.choices import Marking, Role
from accounts.models import User
from tests.factories import make_user

pytestmark = pytest.mark.usefixtures("reference_data")

ADD = "engagements.add_engagement"


def fresh(user):
    """The account as the next request reads it (its row, its groups and permissions)."""
    return User.objects.get(pk=user.pk)


def test_the_access_is_read_once_while_nothing_changes(django_assert_num_queries):
    user = make_user(Role.ANALYST, Marking.NU)
    assert fresh(user).role == Role.ANALYST
    again = fresh(user)
    with django_assert_num_queries(0):
        assert again.role == Role.ANALYST and again.has_perm(ADD)


@pytest.mark.parametrize(
    "change",
    [
        lambda user, group, permission: group.permissions.remove(permission),
        lambda user, group, permission: permission.group_set.remove(group),
        lambda user, group, permission: group.permissions.clear(),
        lambda user, group, permission: permission.delete(),
    ],
    ids=["group loses it", "from the permission's side", "group cleared", "permission deleted"],
)
def test_a_permission_taken_from_the_group_counts_at_the_next_request(change):
    user = make_user(Role.ANALYST, Marking.NU)
    assert fresh(user).has_perm(ADD)
    group = Group.objects.get(name=Role.ANALYST)
    permission = Permission.objects.get(codename="add_engagement")
    change(user, group, permission)
    assert not fresh(user).has_perm(ADD)


@pytest.mark.parametrize(
    "change",
    [
        lambda user, group: user.groups.remove(group),
        lambda user, group: group.user_set.remove(user),
        lambda user, group: group.user_set.clear(),
        lambda user, group: user.groups.clear(),
        lambda user, group: group.delete(),
    ],
    ids=["user leaves", "group lets go", "group cleared", "user cleared", "group deleted"],
)
def test_a_role_taken_counts_at_the_next_request(change):
    user = make_user(Role.MANAGER, Marking.NU)
    assert fresh(user).role == Role.MANAGER
    change(user, Group.objects.get(name=Role.MANAGER))
    assert fresh(user).role is None


def test_a_role_or_permission_given_counts_at_the_next_request():
    user = make_user(Role.ANALYST, Marking.NU)
    assert not fresh(user).has_perm("partners.change_partner")
    user.user_permissions.add(Permission.objects.get(codename="change_partner"))
    assert fresh(user).has_perm("partners.change_partner")
    Group.objects.get(name=Role.ADMIN).user_set.add(user)
    assert fresh(user).role == Role.ADMIN
