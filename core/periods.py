"""Calendar arithmetic of months and periods, in one place: the reports, the summaries, the
report forms and the dashboard all count in these months.

Every function stays within Python's calendar (year 1 to 9999): a step past either end
gives the calendar's first or last day, or None where a first day of a month is asked for.
"""

import calendar
import datetime

from django.utils import timezone

ONE_DAY = datetime.timedelta(days=1)


def month_of(day):
    """The first day of `day`'s month."""
    return day.replace(day=1)


def months_later(first_day, months):
    """The first day of the month `months` after `first_day`'s, or None past the calendar."""
    index = first_day.year * 12 + first_day.month - 1 + months
    if index // 12 > datetime.MAXYEAR:
        return None
    return datetime.date(index // 12, index % 12 + 1, 1)


def next_month(day):
    """The first day of the month after `day`'s, or None past the calendar."""
    return months_later(month_of(day), 1)


def previous_month(month):
    """The first day of the month before `month` (a first day), or None before the calendar."""
    if month.year == datetime.MINYEAR and month.month == 1:
        return None
    return month_of(month - ONE_DAY)


def months_between(first, last):
    """The first days of the months from `first` to `last` (first days), in order."""
    months, current = [], first
    while current is not None and current <= last:
        months.append(current)
        current = next_month(current)
    return months


def _shift(day, months, beyond):
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    if not datetime.MINYEAR <= year <= datetime.MAXYEAR:
        return beyond
    return datetime.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def months_before(day, months):
    """The same day `months` calendar months earlier (clamped to the month's last day)."""
    return _shift(day, -months, datetime.date.min)


def months_after(day, months):
    """The same day `months` calendar months later (clamped to the month's last day, and
    to the calendar's last day)."""
    return _shift(day, months, datetime.date.max)


def last_months(months, end=None):
    """The inclusive period of `months` months that ends on `end` (default today).

    Twelve months up to 2025-12-31 are 2025-01-01 … 2025-12-31.
    """
    end = end or timezone.localdate()
    return months_before(end, months) + ONE_DAY, end


def interval_months(interval):
    """How many months one period of a trend spans: 3 for "quarter", else 1."""
    return 3 if interval == "quarter" else 1


def period_start(day, interval):
    """The first day of the month (or calendar quarter) that holds `day`."""
    step = interval_months(interval)
    return datetime.date(day.year, day.month - (day.month - 1) % step, 1)


def period_starts(start, end, interval):
    """The first day of every month (or quarter) that overlaps [start, end], in order."""
    step = interval_months(interval)
    current = period_start(start, interval)
    while current is not None and current <= end:
        yield current
        current = months_later(current, step)


def period_last_day(first_day, step):
    """The last day of the `step` months beginning on `first_day`."""
    following = months_later(first_day, step)
    return following - ONE_DAY if following else datetime.date.max


def quarter_start(day):
    """The first day of `day`'s calendar quarter."""
    return period_start(day, "quarter")
