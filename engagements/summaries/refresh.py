"""After a write: the summary buckets an engagement left and entered move by one, day and
month (or, while a partner change is being applied, its day slices are counted again)."""

import contextlib
import contextvars
import datetime
import functools
import logging
import operator
from collections import defaultdict

from django.db import transaction
from django.db.models import Max, Q

from core.periods import month_of, next_month
from engagements.models import Engagement
from engagements.summaries.spec import DAY, MONTH, Directory, _as_date, load, tally
from engagements.summaries.stamps import bump_stamp
from jobs.models import Job
from roadmap.models import ReportSummary, SummaryMonth

logger = logging.getLogger(__name__)

# The columns of a bucket's unique key (ReportSummary's unique_bucket constraint).
BUCKET = ["span", "kind", "ref", "pillar", "start", "status", "marking"]


def _lock_months(months):
    """Lock the months' rows (made if missing), in order, so writers never deadlock."""
    months = sorted(set(months))
    SummaryMonth.objects.bulk_create(
        [SummaryMonth(month=month) for month in months], ignore_conflicts=True
    )
    list(SummaryMonth.objects.select_for_update().filter(month__in=months).order_by("month"))


class _Pending:
    """Summary changes not applied yet: those of one write, or of every write inside a
    `deferred_refresh()` block (applied once, at its end), counted under one directory.

    A write's own change (`move()`) is exact only while the summaries are counted under
    the directory as it is now. While a partner or membership change is still being applied
    (its regroup job pending) they are not, for the groups it moves: then the slices a
    write touches are counted again from the tables instead (as `refresh_slices()` does),
    and the job counts the groups again afterwards."""

    def __init__(self):
        self.directory = Directory()
        # Asked after the directory is read: a partner change it saw committed its job too.
        self.recount = Job.objects.applying_partner_changes().exists()
        self.changes = defaultdict(int)  # (kind, ref, pillar, day, status, marking) → change
        self.slices = set()  # (day, status, marking) to count again from the tables

    def add(self, row, sign):
        if self.recount:
            self.slices.add(tuple(row[:3]))
            return
        for key, (count, _) in tally([row], self.directory).items():
            self.changes[key] += sign * count

    def apply(self):
        _apply(self.changes, self.slices, self.directory)


_deferred = contextvars.ContextVar("deferred_changes", default=None)


@contextlib.contextmanager
def deferred_refresh(apply=True):
    """Writes inside the block (in one transaction with it) move the summaries once, at its
    end, together; or never, with `apply` false, when the caller rolls them back (the
    import's preview). An import of a thousand rows writes each bucket once instead of once
    per row. Nothing is applied if the block marked its transaction for rollback."""
    pending = _Pending()
    token = _deferred.set(pending)
    try:
        yield
    finally:
        _deferred.reset(token)
    if apply and not transaction.get_rollback():  # a block that gave up stores nothing
        pending.apply()


def move(before, after):
    """One engagement's write: the summaries lose what it counted in (`before`) and gain
    what it counts in now (`after`), each a row of `load()`'s shape, None when it did not
    (does not) exist. Call it inside the transaction that wrote the engagement."""
    pending = _deferred.get() or _Pending()
    for row, sign in ((before, -1), (after, 1)):
        if row is not None:
            pending.add(row, sign)
    if pending is not _deferred.get():
        pending.apply()


def refresh_slices(slices):
    """Count these (day, status, marking) slices again from the engagement tables: for
    engagements written without `move()` (inserted in bulk). Call it inside the
    transaction that wrote them."""
    pending = _deferred.get() or _Pending()
    pending.slices.update(slices)
    if pending is not _deferred.get():
        pending.apply()


def _apply(changes, recount, directory):
    """Move the day buckets by `changes` ({(kind, ref, pillar, day, status, marking):
    change}), count the day slices of `recount` again from the tables, and move their
    months by the same, under the months' locks. Only the buckets whose numbers change are
    written: a few dozen rows a write, not every bucket of its day and month. A month
    bucket's newest day is counted again only when the day that held it lost its last
    engagement. A slice whose stored buckets would go below zero (they were not exact) is
    counted again too. The data stamp moves even when no number does (a cached list count
    may depend on any field)."""
    with transaction.atomic():
        bump_stamp()
        by_day = {piece: {} for piece in recount}
        for (kind, ref, pillar, day, status, marking), change in changes.items():
            if change and (day, status, marking) not in recount:
                by_day.setdefault((day, status, marking), {})[(kind, ref, pillar)] = change
        if not by_day:
            return
        _lock_months(month_of(day) for day, _, _ in by_day)
        months = defaultdict(dict)  # (month, status, marking) → {dimension: [change, newest]}
        emptied = defaultdict(set)  # the same → {(dimension, day) that lost every engagement}
        for piece, moved in sorted(by_day.items()):
            day, status, marking = piece
            stored = _stored(DAY, *piece, None if piece in recount else moved)
            counts = {
                dimension: stored.get(dimension, (0, None))[0] + change
                for dimension, change in moved.items()
            }
            if piece in recount or any(count < 0 for count in counts.values()):
                if piece not in recount:
                    logger.warning("Summaries of %s were not exact: counted again.", piece)
                    stored = _stored(DAY, *piece)
                counts = dict.fromkeys(stored, 0)
                engagements = Engagement.objects.filter(
                    start_date=day, status=status, marking=marking
                )
                for key, (count, _) in tally(load(engagements), directory).items():
                    counts[key[:3]] = count
            _write(DAY, day, status, marking, stored, counts)
            month = (month_of(day), status, marking)
            for dimension, count in counts.items():
                change = count - stored.get(dimension, (0, None))[0]
                if not change:
                    continue
                entry = months[month].setdefault(dimension, [0, None])
                entry[0] += change
                if count:
                    entry[1] = max(entry[1] or day, day)
                else:
                    emptied[month].add((dimension, day))
        for (month, status, marking), moved in months.items():
            _move_month(month, status, marking, moved, emptied[(month, status, marking)])


def _stored(span, start, status, marking, dimensions=None):
    """{(kind, ref, pillar): (count, last)} of one slice's stored buckets: all of them, or
    those of `dimensions` (and a few more: read by their refs and pillars)."""
    rows = ReportSummary.objects.filter(span=span, start=start, status=status, marking=marking)
    if dimensions is not None:
        rows = rows.filter(
            ref__in={ref for _, ref, _ in dimensions},
            pillar__in={pillar for _, _, pillar in dimensions},
        )
    return {
        (kind, ref, pillar): (count, _as_date(last))
        for kind, ref, pillar, count, last in rows.values_list(
            "kind", "ref", "pillar", "count", "last"
        )
    }


def _write(span, start, status, marking, stored, wanted):
    """Set the slice's buckets of `wanted` ({dimension: count or (count, last)}; a count of
    0 means no bucket), writing only those that differ from `stored`: emptied ones are
    deleted, new or changed ones upserted in one statement. Other buckets are left alone."""
    wanted = {
        dimension: value if isinstance(value, tuple) else (value, start)
        for dimension, value in wanted.items()
    }
    gone = [
        dimension for dimension, (count, _) in wanted.items() if not count and dimension in stored
    ]
    if gone:
        ReportSummary.objects.filter(span=span, start=start, status=status, marking=marking).filter(
            functools.reduce(
                operator.or_,
                (Q(kind=kind, ref=ref, pillar=pillar) for kind, ref, pillar in gone),
            )
        ).delete()
    changed = {key: value for key, value in wanted.items() if value[0] and stored.get(key) != value}
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
    stored = _stored(MONTH, month, status, marking, changes)
    wanted = {}
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
            ref__in={ref for _, ref, _ in recount},
            pillar__in={pillar for _, _, pillar in recount},
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
