from django.db import models

from accounts.choices import Marking  # noqa: F401  (engagements are marked on this scale)


class EngagementKind(models.TextChoices):
    HIGH_LEVEL_DIALOGUE = "high_level_dialogue", "High-level dialogue"
    STAFF_TALKS = "staff_talks", "Staff talks"
    EXERCISE = "exercise", "Exercise"
    TRAINING = "training", "Training"
    INFORMATION_EXCHANGE = "information_exchange", "Information exchange"
    WORKSHOP = "workshop", "Workshop"
    AGREEMENT = "agreement", "Agreement"
    ASSISTANCE = "assistance", "Assistance"
    CAPACITY_BUILDING = "capacity_building", "Capacity building"
    OTHER = "other", "Other"


class EngagementStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


class EscalationRisk(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class PartnerRole(models.TextChoices):
    LEAD = "lead", "Lead"
    PARTICIPANT = "participant", "Participant"
    OBSERVER = "observer", "Observer"


class ActionStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    DROPPED = "dropped", "Dropped"


class ReviewDecision(models.TextChoices):
    CLEARED = "cleared", "Cleared"
    CONCERNS = "concerns", "Concerns"
