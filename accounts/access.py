"""A user's groups and permissions (`User.access`: the role, and every permission check)
are read from the database once per change, not once per request.

Each account carries an `access_stamp` that every change of its groups or permissions
(theirs, or their groups') replaces, in the transaction that makes the change (the
receivers below). The account row is read at every request anyway (the session's or the
token's user), so a process keeps what it read under (account, stamp) and knows it is
stale as soon as the stamp moves: on every app server at once, with no shared cache to
invalidate."""

import uuid

from django.contrib.auth.models import Group, Permission
from django.db.models import Q
from django.db.models.signals import m2m_changed, pre_delete
from django.dispatch import receiver

from accounts.models import User


def moved(accounts):
    """Give these accounts (a queryset of users) a new access stamp; returns it."""
    stamp = uuid.uuid4()
    accounts.update(access_stamp=stamp)
    return stamp


def _members(groups):
    return User.objects.filter(groups__in=groups)


@receiver(m2m_changed, sender=User.groups.through, dispatch_uid="accounts.access.groups")
@receiver(m2m_changed, sender=User.user_permissions.through, dispatch_uid="accounts.access.own")
def account_links_changed(sender, instance, action, reverse, pk_set, **kwargs):
    """A user's groups or own permissions changed, from either side (a clear from the
    group's or permission's side before its links go, to know whose they were)."""
    if action not in ("post_add", "post_remove", "post_clear", "pre_clear"):
        return
    if not reverse:  # user.groups.add(…), user.user_permissions.clear()
        if action != "pre_clear":
            instance.access_stamp = moved(User.objects.filter(pk=instance.pk))
    elif action == "post_clear":
        return
    elif pk_set is not None:  # group.user_set.add(…), permission.user_set.remove(…)
        moved(User.objects.filter(pk__in=pk_set))
    else:  # group.user_set.clear(), before the links go
        moved(User.objects.filter(pk__in=instance.user_set.values("pk")))


@receiver(m2m_changed, sender=Group.permissions.through, dispatch_uid="accounts.access.group")
def group_permissions_changed(sender, instance, action, reverse, pk_set, **kwargs):
    """A group's permissions changed: every member's access moves."""
    if action not in ("post_add", "post_remove", "pre_clear"):
        return
    if not reverse:  # group.permissions.add(…)
        groups = [instance.pk]
    elif pk_set is not None:  # permission.group_set.add(…)
        groups = list(pk_set)
    else:
        groups = list(instance.group_set.values_list("pk", flat=True))
    moved(User.objects.filter(pk__in=_members(groups).values("pk")))


@receiver(pre_delete, sender=Group, dispatch_uid="accounts.access.group_deleted")
def group_deleted(sender, instance, **kwargs):
    moved(User.objects.filter(pk__in=_members([instance.pk]).values("pk")))


@receiver(pre_delete, sender=Permission, dispatch_uid="accounts.access.permission_deleted")
def permission_deleted(sender, instance, **kwargs):
    holders = Q(user_permissions=instance) | Q(groups__permissions=instance)
    moved(User.objects.filter(pk__in=User.objects.filter(holders).values("pk")))
