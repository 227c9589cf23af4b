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


class SavedView(models.Model):
    """A named engagement-list query (filters and sort) that a person finds again in the
    navigation. Shareable by link: the link is the list's URL with `query`."""

    user = models.ForeignKey(
        User, verbose_name="user", on_delete=models.CASCADE, related_name="saved_views"
    )
    name = models.CharField("name", max_length=80)
    query = models.CharField(
        "query", max_length=2000, blank=True, help_text="The list's query string, without “?”."
    )
    created_at = models.DateTimeField("created at", auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "name"], name="%(app_label)s_%(class)s_unique_name"
            ),
            models.CheckConstraint(
                condition=~models.Q(name=""), name="%(app_label)s_%(class)s_name_not_empty"
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def url(self):
        from django.urls import reverse

        return reverse("engagements:list") + ("?" + self.query if self.query else "")
