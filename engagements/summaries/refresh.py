"""After a write: the (day, status, marking) slices an engagement left and entered are
counted again from the engagement tables, and their months moved by the difference."""

import contextlib
import contextvars
import datetime
import functools
import operator
from collections import defaultdict

from django.db import transaction
from django.db.models import Max, Q

from core.periods import month_of, next_month
from engagements.models import Engagement
from engagements.summaries.spec import DAY, MONTH, Directory, _as_date, load, tally
from engagements.summaries.stamps import bump_stamp
from roadmap.models import ReportSummary, SummaryMonth

# The columns of a bucket's unique key (ReportSummary's unique_bucket constraint).
BUCKET = ["span", "kind", "ref", "pillar", "start", "status", "marking"]


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
    tables, and move their months' totals by what changed. Call it inside the transaction
    that wrote the engagements.

    Only the rows whose numbers change are written: a day's buckets are counted afresh and
    compared with the stored ones, and each month bucket moves by the difference (its
    newest day counted again only when the day that held it lost its last engagement), so
    a write touches a few dozen rows, not every bucket of its day and month."""
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
        months = defaultdict(dict)  # (month, status, marking) → {dimension: [change, newest]}
        emptied = defaultdict(set)  # the same → {(dimension, day) that lost every engagement}
        for day, status, marking in sorted(slices):
            engagements = Engagement.objects.filter(start_date=day, status=status, marking=marking)
            counted = {
                key[:3]: count for key, (count, _) in tally(load(engagements), directory).items()
            }
            stored = _stored(DAY, day, status, marking)
            _write(DAY, day, status, marking, stored, counted)
            changes = months[(month_of(day), status, marking)]
            for dimension in stored.keys() | counted.keys():
                now, before = counted.get(dimension, 0), stored.get(dimension, (0, None))[0]
                change = changes.setdefault(dimension, [0, None])
                change[0] += now - before
                if now:
                    change[1] = max(change[1] or day, day)
                elif before:
                    emptied[(month_of(day), status, marking)].add((dimension, day))
        for (month, status, marking), changes in months.items():
            _move_month(month, status, marking, changes, emptied[(month, status, marking)])


def _stored(span, start, status, marking):
    """{(kind, ref, pillar): (count, last)} of one slice's stored buckets."""
    rows = ReportSummary.objects.filter(span=span, start=start, status=status, marking=marking)
    return {
        (kind, ref, pillar): (count, _as_date(last))
        for kind, ref, pillar, count, last in rows.values_list(
            "kind", "ref", "pillar", "count", "last"
        )
    }


def _write(span, start, status, marking, stored, wanted):
    """Make the slice's buckets `wanted` ({dimension: count} or {dimension: (count, last)}),
    writing only the ones that differ from `stored`: buckets gone are deleted, new or
    changed ones upserted in one statement."""
    wanted = {
        dimension: value if isinstance(value, tuple) else (value, start)
        for dimension, value in wanted.items()
        if (value[0] if isinstance(value, tuple) else value)
    }
    gone = [dimension for dimension in stored if dimension not in wanted]
    if gone:
        ReportSummary.objects.filter(span=span, start=start, status=status, marking=marking).filter(
            functools.reduce(
                operator.or_,
                (Q(kind=kind, ref=ref, pillar=pillar) for kind, ref, pillar in gone),
            )
        ).delete()
    changed = {key: value for key, value in wanted.items() if stored.get(key) != value}
    if changed:
        ReportSummary.objects.bulk_create(
            [
                ReportSummary(
                    span=span,
                    kind=kind,
                    ref=ref,
                    pillar=pillar,
                    start=start,
                    status=status,
                    marking=marking,
                    count=count,
                    last=last,
                )
                for (kind, ref, pillar), (count, last) in changed.items()
            ],
            update_conflicts=True,
            unique_fields=BUCKET,
            update_fields=["count", "last"],
            batch_size=2000,
        )


def _move_month(month, status, marking, changes, emptied):
    """Move a month's buckets by its days' `changes` ({dimension: [change, newest day
    counted]}). A bucket's newest day is counted again from the day buckets only when the
    day that held it lost its last engagement (`emptied`: {(dimension, day)})."""
    stored = _stored(MONTH, month, status, marking)
    wanted = dict(stored)
    recount = set()
    for dimension, (change, newest) in changes.items():
        count, last = stored.get(dimension, (0, None))
        count += change
        if (dimension, last) in emptied:
            recount.add(dimension)
        last = max(day for day in (last, newest) if day is not None) if count else None
        wanted[dimension] = (count, last)
    recount = {dimension for dimension in recount if wanted[dimension][0]}
    if recount:
        days = ReportSummary.objects.filter(
            span=DAY,
            start__gte=month,
            start__lt=next_month(month) or datetime.date.max,
            status=status,
            marking=marking,
            kind__in={kind for kind, _, _ in recount},
        )
        newest = defaultdict(lambda: None)
        for kind, ref, pillar, last in (
            days.values("kind", "ref", "pillar")
            .annotate(newest=Max("start"))
            .order_by()
            .values_list("kind", "ref", "pillar", "newest")
        ):
            newest[(kind, ref, pillar)] = _as_date(last)
        for dimension in recount:
            wanted[dimension] = (wanted[dimension][0], newest[dimension])
    _write(MONTH, month, status, marking, stored, wanted)
