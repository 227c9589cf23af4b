"""Dates and times as the deployment writes them (DJANGO_DATE_FORMAT, ISO 8601 by default),
the same on every page, whatever Django's own British formats say (FORMAT_MODULE_PATH)."""

from django.conf import settings

DATE_FORMAT = SHORT_DATE_FORMAT = settings.TRACKER_DATE_FORMAT
DATETIME_FORMAT = SHORT_DATETIME_FORMAT = f"{settings.TRACKER_DATE_FORMAT} H:i"
MONTH_DAY_FORMAT = settings.TRACKER_DATE_FORMAT
