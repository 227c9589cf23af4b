from functools import cached_property

from django.contrib.auth.models import AbstractUser
from django.db import models

from accounts.choices import Marking, Role


def visible_markings(user):
    """The markings a user may see: up to its clearance; none at all for an anonymous or
    inactive user or one without a role (taking someone's role away takes their access).
    `Engagement.objects.visible_to` and everything else marked (history rows, report cache
    keys, the write service's claim) apply this one rule."""
    if user is None or not user.is_authenticated or not user.is_active or not user.role:
        return []
    return Marking.up_to(user.clearance)


class User(AbstractUser):
    clearance = models.CharField(
        "clearance",
        max_length=2,
        choices=Marking.choices,
        default=Marking.NU,
        help_text="The highest marking this user may see or assign.",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(clearance__in=Marking.values),
                name="%(app_label)s_%(class)s_clearance_valid",
            ),
        ]

    @cached_property
    def role(self):
        """The strongest role among the user's groups (superusers count as admin), or None."""
        if self.is_superuser:
            return Role.ADMIN
        names = set(self.groups.values_list("name", flat=True))
        for role in (Role.ADMIN, Role.MANAGER, Role.ANALYST):
            if role in names:
                return role
        return None

    def may_see(self, marking):
        return marking in visible_markings(self)
