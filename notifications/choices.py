from django.db import models


class NotificationKind(models.TextChoices):
    ACTION_ASSIGNED = "action_assigned", "Made owner of an action"
    ACTION_DUE = "action_due", "Action due"
    REVIEW_NEEDED = "review_needed", "Review needed"
    WATCHED_CHANGED = "watched_changed", "Watched record changed"
    MENTIONED = "mentioned", "Mentioned"


class EmailChoice(models.TextChoices):
    NONE = "none", "No email"
    INSTANT = "instant", "An email for each"
    DAILY = "daily", "One email a day"
