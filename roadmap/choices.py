from django.db import models


class TipStatus(models.TextChoices):
    NOT_STARTED = "not_started", "Not started"
    ON_TRACK = "on_track", "On track"
    AT_RISK = "at_risk", "At risk"
    OFF_TRACK = "off_track", "Off track"
    ACHIEVED = "achieved", "Achieved"


class TargetStatus(models.TextChoices):
    """A target's standing in the plan report, worst first (the report's order)."""

    BEHIND = "behind", "Behind"
    PLANNED = "planned", "Planned"
    MET = "met", "Met"
