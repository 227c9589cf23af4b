"""Ending an account's sessions and API tokens when what let it in changes.

A password set (by an admin, by `manage.py changepassword`, or by the user), a
deactivation and a role taken away end every session and every API token of the account
at once, whatever door made the change: these receivers see every save of a user and every
change of its groups. A user who changes their own password keeps the session they did it
from (Django's password change view gives it a new key: `update_session_auth_hash`).
"""

from django.db.models.signals import m2m_changed, post_save, pre_save
from django.dispatch import receiver
from knox.models import AuthToken

from accounts.choices import Role
from accounts.models import Session, User


def end_sessions(users):
    """Sign `users` (a queryset or list of users or ids) out everywhere."""
    Session.objects.filter(user__in=users).delete()
    AuthToken.objects.filter(user__in=users).delete()


@receiver(pre_save, sender=User, dispatch_uid="accounts.credentials.note_change")
def note_change(sender, instance, update_fields=None, **kwargs):
    if instance._state.adding or instance.pk is None:
        return
    password_set = instance._password is not None  # set_password() since the last save
    deactivated = False
    if not instance.is_active and (update_fields is None or "is_active" in update_fields):
        deactivated = User.objects.filter(pk=instance.pk, is_active=True).exists()
    instance._sign_out_everywhere = password_set or deactivated


@receiver(post_save, sender=User, dispatch_uid="accounts.credentials.sign_out")
def sign_out(sender, instance, created, **kwargs):
    if getattr(instance, "_sign_out_everywhere", False):
        instance._sign_out_everywhere = False
        end_sessions([instance.pk])


@receiver(m2m_changed, sender=User.groups.through, dispatch_uid="accounts.credentials.role")
def role_taken(sender, instance, action, reverse, pk_set, **kwargs):
    """A role group taken from a user (or a user taken from a role group), also by
    clearing them all."""
    if action not in ("pre_remove", "pre_clear"):
        return
    if not reverse:  # user.groups.remove(…) / .clear()
        groups = instance.groups.all() if pk_set is None else instance.groups.filter(pk__in=pk_set)
        if groups.filter(name__in=Role.values).exists():
            end_sessions([instance.pk])
    elif instance.name in Role.values:  # group.user_set.remove(…) / .clear()
        users = instance.user_set.all() if pk_set is None else list(pk_set)
        end_sessions(users)
