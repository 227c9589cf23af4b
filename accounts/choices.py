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

    @classmethod
    def highest(cls, levels):
        """The highest of `levels` (NU when there are none)."""
        return max(levels, key=cls.rank, default=cls.NU)

    @classmethod
    def banner(cls, level):
        """How a page, a file or a message names it: "NATO SECRET"."""
        return cls(level).label.upper()


class Role(models.TextChoices):
    """A user's role is the Django group of the same name."""

    ANALYST = "analyst", "Analyst"
    MANAGER = "manager", "Manager"
    ADMIN = "admin", "Admin"
