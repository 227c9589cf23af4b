"""After a write: the (day, status, marking) slices an engagement left and entered are
counted again from the engagement tables, and their months added up from their days."""

import contextlib
import contextvars
import datetime

from django.db import transaction
from django.db.models import Max, Sum

from core.periods import month_of, next_month
from engagements.models import Engagement
from engagements.summaries.spec import DAY, MONTH, Directory, _as_date, _store, load, tally
from engagements.summaries.stamps import bump_stamp
from roadmap.models import ReportSummary, SummaryMonth


def _lock_months(months):
    """Lock the months' rows (made if missing), in order, so writers never deadlock."""
    months = sorted(set(months))
    SummaryMonth.objects.bulk_create(
        [SummaryMonth(month=month) for month in months], ignore_conflicts=True
    )
    list(SummaryMonth.objects.select_for_update().filter(month__in=months).order_by("month"))


# The slices that writes inside `deferred_refresh()` leave to be refreshed at its end.
_deferred = contextvars.ContextVar("deferred_slices", default=None)


@contextlib.contextmanager
def deferred_refresh(apply=True):
    """Writes inside the block (in one transaction with it) refresh their slices once, at
    its end, together; or never, with `apply` false, when the caller rolls them back (the
    import's preview). An import of a thousand rows refreshes each slice once instead of
    once per row. Nothing is refreshed if the block marked its transaction for rollback."""
    pending = set()
    token = _deferred.set(pending)
    try:
        yield
    finally:
        _deferred.reset(token)
    if apply and not transaction.get_rollback():  # a block that gave up stores nothing
        refresh_slices(pending)


def refresh_slices(slices):
    """Recompute the summaries of these (day, status, marking) slices from the engagement
    tables, and their months' totals from the days. Call it inside the transaction that
    wrote the engagements."""
    slices = set(slices)
    if not slices:
        return
    pending = _deferred.get()
    if pending is not None:
        pending.update(slices)
        return
    with transaction.atomic():
        bump_stamp()
        _lock_months(month_of(day) for day, _, _ in slices)
        directory = Directory()
        for day, status, marking in sorted(slices):
            engagements = Engagement.objects.filter(start_date=day, status=status, marking=marking)
            ReportSummary.objects.filter(
                span=DAY, start=day, status=status, marking=marking
            ).delete()
            daily = tally(load(engagements), directory)
            _store({(DAY, *key): value for key, value in daily.items()})
        for month, status, marking in {(month_of(d), s, m) for d, s, m in slices}:
            _add_up_month(month, status, marking)


def _add_up_month(month, status, marking):
    """A month's summaries of one status and marking: the sum of its days'."""
    ReportSummary.objects.filter(span=MONTH, start=month, status=status, marking=marking).delete()
    days = ReportSummary.objects.filter(
        span=DAY,
        start__gte=month,
        start__lt=next_month(month) or datetime.date.max,
        status=status,
        marking=marking,
    )
    sums = days.values("kind", "ref", "pillar").annotate(n=Sum("count"), newest=Max("last"))
    _store(
        {
            (MONTH, row["kind"], row["ref"], row["pillar"], month, status, marking): (
                row["n"],
                _as_date(row["newest"]),
            )
            for row in sums.order_by()
        }
    )
