from django.db import models


class Marking(models.TextChoices):
    """Protective markings, lowest first. A user's clearance uses the same levels."""

    NU = "NU", "NATO Unclassified"
    NR = "NR", "NATO Restricted"
    NC = "NC", "NATO Confidential"
    NS = "NS", "NATO Secret"

    @classmethod
    def rank(cls, level):
        return cls.values.index(level)

    @classmethod
    def up_to(cls, level):
        """Every marking at or below `level`, lowest first."""
        return cls.values[: cls.rank(level) + 1]


class Role(models.TextChoices):
    """A user's role is the Django group of the same name."""

    ANALYST = "analyst", "Analyst"
    MANAGER = "manager", "Manager"
    ADMIN = "admin", "Admin"
