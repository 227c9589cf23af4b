"""Reading the summaries for a report: a period's whole months from the month rows, the
days of its partial months from the day rows."""

from collections import defaultdict

from django.db.models import Max, Q, Sum

from accounts.choices import Marking
from core.periods import ONE_DAY, month_of, next_month, previous_month
from engagements.summaries.spec import DAY, MONTH, _as_date
from roadmap.models import ReportSummary


class Counts(dict):
    """What `read()` answers: {key: (count, last)}, and for each key what each marking
    adds to it, so that a report can name the highest marking of the engagements behind
    a number it shows (`counted()`) or a date (`dated()`) with no query of its own."""

    def __init__(self):
        super().__init__()
        self.by_marking = defaultdict(dict)  # key -> {marking: (count, newest)}

    def add(self, key, marking, count, newest):
        count_before, last = self.get(key, (0, None))
        self[key] = (count_before + count, newest if last is None else max(last, newest))
        had, had_newest = self.by_marking[key].get(marking, (0, None))
        newest = newest if had_newest is None else max(had_newest, newest)
        self.by_marking[key][marking] = (had + count, newest)

    def counted(self, keys=None):
        """The highest marking of the engagements counted under `keys` (every key read
        when None); NU when none is."""
        keys = self.by_marking if keys is None else keys
        return Marking.highest(
            marking
            for key in keys
            for marking, (count, _) in self.by_marking.get(key, {}).items()
            if count
        )

    def dated(self, key):
        """The highest marking of the engagements that set `key`'s newest start date."""
        last = self.get(key, (0, None))[1]
        return Marking.highest(
            marking
            for marking, (count, newest) in self.by_marking.get(key, {}).items()
            if count and last is not None and newest == last
        )


def read(user, kinds, start, end, status=None, by_month=False):
    """{(kind, ref, pillar[, month]): (count, last)} over the engagements visible to `user`
    with `status` (one, a list, or None for any) starting in [start, end], as `Counts`
    (which also knows the markings behind each number).

    Whole months come from the month summaries, the days of partial months at either end
    from the day summaries: two queries at most, whatever the number of engagements. A
    reader adds up the markings its clearance allows.
    """
    statuses = [status] if isinstance(status, str) else list(status or [])
    ranges = pieces(start, end)
    result = Counts()
    for span in (MONTH, DAY):
        within = Q()
        for row_span, low, high in ranges:
            if row_span == span:
                within |= Q(start__gte=low, start__lte=high)
        if not within:
            continue
        rows = ReportSummary.objects.filter(within, span=span, kind__in=kinds).restrict(user)
        if statuses:
            rows = rows.filter(status__in=statuses)
        columns = ["kind", "ref", "pillar", "marking", *(["start"] if by_month else [])]
        for row in rows.values(*columns).annotate(n=Sum("count"), newest=Max("last")).order_by():
            key = (row["kind"], row["ref"], row["pillar"])
            if by_month:
                key += (month_of(_as_date(row["start"])),)
            result.add(key, row["marking"], row["n"], _as_date(row["newest"]))
    return result


class WindowCounts(dict):
    """What `read_windows()` answers: {key: count}, and `markings[key]`, the highest
    marking among the engagements a window counts (NU when it counts none)."""

    def __init__(self):
        super().__init__()
        self.markings = {}


def read_windows(user, kind, windows):
    """{key: count} of the engagements visible to `user` under one dimension, each window
    its own: `windows` maps a key to (ref, pillar, status, first day, last day).

    The windows' whole months come from one query of month rows, their partial months'
    days from one query of day rows: two queries however many windows there are.
    """
    wanted = {span: set() for span in (MONTH, DAY)}  # (first, last) ranges per span
    for *_, start, end in windows.values():
        for span, low, high in pieces(start, end):
            wanted[span].add((low, high))
    refs = {str(ref) for ref, *_ in windows.values()}
    pillars = {pillar for _, pillar, *_ in windows.values()}
    statuses = {status for _, _, status, *_ in windows.values()}
    found = defaultdict(list)  # (span, ref, pillar, status) -> [(first day, count, marking)]
    for span, ranges in wanted.items():
        if not ranges:
            continue
        within = Q()
        for low, high in ranges:
            within |= Q(start__gte=low, start__lte=high)
        rows = ReportSummary.objects.filter(
            within,
            span=span,
            kind=kind,
            ref__in=refs,
            pillar__in=pillars,
            status__in=statuses,
        ).restrict(user)
        sums = rows.values("ref", "pillar", "status", "start", "marking").annotate(n=Sum("count"))
        for row in sums.order_by():
            key = (span, row["ref"], row["pillar"], row["status"])
            found[key].append((_as_date(row["start"]), row["n"], row["marking"]))
    counts = WindowCounts()
    for key, (ref, pillar, status, start, end) in windows.items():
        within = [
            (count, marking)
            for span, low, high in pieces(start, end)
            for first_day, count, marking in found.get((span, str(ref), pillar, status), ())
            if low <= first_day <= high
        ]
        counts[key] = sum(count for count, _ in within)
        counts.markings[key] = Marking.highest(marking for count, marking in within if count)
    return counts


def pieces(start, end):
    """[(span, first, last)]: the summary rows that add up to [start, end]: its whole
    months as month rows, the days of its partial months at either end as day rows."""
    first_whole = start if start.day == 1 else next_month(start)
    after_end = next_month(end)
    last_whole = month_of(end) if after_end is None or end == after_end - ONE_DAY else None
    if last_whole is None:
        last_whole = previous_month(month_of(end))
    if first_whole is None or last_whole is None or first_whole > last_whole:
        return [(DAY, start, end)]
    ranges = []
    if start < first_whole:
        ranges.append((DAY, start, first_whole - ONE_DAY))
    ranges.append((MONTH, first_whole, last_whole))
    if month_of(end) != last_whole:
        ranges.append((DAY, month_of(end), end))
    return ranges
