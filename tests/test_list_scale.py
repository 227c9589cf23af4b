"""The engagement list at scale: every keyset page is exact and starts where its cursor
points (an index range on PostgreSQL, not a walk from the first row), and `search` can use
the trigram indexes on PostgreSQL. Timings live in bench/bench_list.py, not here."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.choices import Marking
from core.pagination import keyset_ordering, paginate
from engagements.filters import SORTABLE, EngagementFilterSet, sort_column
from engagements.models import Engagement
from tests.factories import make_engagement

pytestmark = pytest.mark.usefixtures("reference_data")

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="query plans: PostgreSQL only"
)


@pytest.fixture
def tied(db):
    """Nine engagements with ties in every sortable column, so pages split inside a tie."""
    rows = []
    for i in range(9):
        rows.append(
            make_engagement(
                title=["Alpha", "Bravo", "Alpha"][i % 3],
                kind=["exercise", "training"][i % 2],
                status=["planned", "completed", "cancelled"][i % 3],
                start_date=datetime.date(2025, 3, 1 + i % 2),
                marking=[Marking.NS, Marking.NU, Marking.NR, Marking.NC][i % 4],
                escalation_risk=["low", "high"][i % 2],
            )
        )
    return rows


def expected_order(rows, key):
    column = key.lstrip("-")
    rank = Marking.values.index

    def value(row):
        return rank(row.marking) if column == "marking" else getattr(row, column)

    return [
        row.pk
        for row in sorted(rows, key=lambda row: (value(row), row.pk), reverse=key.startswith("-"))
    ]


@pytest.mark.parametrize("key", [name for column in SORTABLE for name in (column, f"-{column}")])
def test_keyset_pages_are_exact_in_every_ordering_both_ways(tied, key):
    ordering = keyset_ordering(sort_column(key))
    expected = expected_order(tied, key)
    seen, cursor = [], None
    while True:
        page = paginate(Engagement.objects.all(), ordering, 2, cursor)
        seen.append([row.pk for row in page])
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert sum(seen, []) == expected
    back, cursor = [], page.previous_cursor
    while cursor:
        page = paginate(Engagement.objects.all(), ordering, 2, cursor)
        back.insert(0, [row.pk for row in page])
        cursor = page.previous_cursor
    assert sum(back, []) == expected[: -len(seen[-1])]


def plan(sql):
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql)
        return "\n".join(line for (line,) in cursor.fetchall())


@postgresql_only
@pytest.mark.parametrize("key", [name for column in SORTABLE for name in (column, f"-{column}")])
def test_a_cursor_page_starts_at_the_cursor_in_the_index(tied, key):
    ordering = keyset_ordering(sort_column(key))
    cursor = paginate(Engagement.objects.all(), ordering, 4).next_cursor
    with CaptureQueriesContext(connection) as queries:
        paginate(Engagement.objects.filter(marking__in=Marking.values), ordering, 4, cursor)
    with connection.cursor() as session:
        # Nine rows are cheaper to sort than to look up: make the planner show its index path.
        session.execute("SET LOCAL enable_seqscan = off; SET LOCAL enable_sort = off")
    shown = plan(queries[-1]["sql"])
    # The cursor is an index condition (where the scan starts), not a filter on every row
    # from the first one (what `a < x OR (a = x AND id < y)` alone gives).
    if len(ordering) > 1:
        assert "Index Cond: ((" in shown and "ROW(" in shown.split("Index Cond:")[1], shown
    else:
        assert "Index Cond: (id " in shown, shown


@pytest.fixture
def texts(db):
    return {
        "title": make_engagement(title="Submarine rescue talks"),
        "summary": make_engagement(summary="Planning a SUBMARINE rescue drill."),
        "outcomes": make_engagement(outcomes="A submarine-rescue memorandum."),
        "none": make_engagement(title="Port visit", summary="100% attendance", outcomes="a_b"),
    }


@pytest.mark.parametrize(
    "word, found",
    [
        ("submarine", {"title", "summary", "outcomes"}),
        ("  Submarine ", {"title", "summary", "outcomes"}),
        ("RESCUE DRILL", {"summary"}),
        ("100%", {"none"}),  # % and _ are characters here, not patterns
        ("0%", {"none"}),
        ("%", {"none"}),
        ("a_b", {"none"}),
        ("_", {"none"}),
        ("xyzzy", set()),
    ],
)
def test_search_finds_words_in_title_summary_and_outcomes(client, texts, analyst_ns, word, found):
    client.force_login(analyst_ns)
    names = {engagement.pk: name for name, engagement in texts.items()}
    page = client.get("/engagements/", {"search": word}).context["page"]
    assert {names[engagement.pk] for engagement in page} == found


@postgresql_only
def test_search_can_use_the_trigram_indexes(texts):
    # The filter's own expressions (UPPER(col::text) LIKE …) must be the indexed ones.
    filterset = EngagementFilterSet({"search": "xyzzy"}, queryset=Engagement.objects.all())
    page = filterset.qs.order_by("-start_date", "-id")[:51]
    with connection.cursor() as session:
        # On four rows any plan will do: leave the planner only the bitmap paths.
        session.execute("SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = off")
    shown = page.explain()
    for name in ["engagement_title_trgm", "engagement_summary_trgm", "engagement_outcomes_trgm"]:
        assert f"Bitmap Index Scan on {name}" in shown, shown


def test_table_rows_show_what_the_models_say(client, analyst_ns):
    """Ready-made row values (engagements.tables) against the models' own answers."""
    lead_first = make_engagement(
        partners=["KOR", "JPN"],
        pillars=["hadr", "dialogue"],
        tips=[1],
        kind="high_level_dialogue",
        status="planned",
        title='Talks <with> & "quotes"',
        start_date=datetime.date(2025, 7, 1),
        created_by=analyst_ns,
    )
    client.force_login(analyst_ns)
    # "/": recent ones. (A tip's page lists only its completed ones: tests/test_number_links.)
    pages = ["/engagements/", "/partners/KOR/", "/"]
    for url in pages:
        html = client.get(url).content.decode()
        title = "Talks &lt;with&gt; &amp; &quot;quotes&quot;"
        assert f'<a href="{lead_first.get_absolute_url()}">{title}</a>' in html, url
        assert '<td data-label="Kind">High-level dialogue</td>' in html
        assert '<span class="status status-planned">Planned</span>' in html
        korea = '<a class="chip" href="/partners/KOR/" title="KOR, lead">Republic of Korea</a>'
        japan = '<a class="chip" href="/partners/JPN/" title="JPN, participant">Japan</a>'
        assert f'<td data-label="Partners">{korea} {japan}</td>' in html, url
        assert (
            '<td data-label="Pillars"><span class="chip pillar-dialogue">'
            "Enhanced Dialogue and Cooperation</span> "
            '<span class="chip pillar-hadr">Humanitarian Assistance and Disaster Relief</span></td>'
        ) in html, url
        assert '<span class="badge marking-NU" title="Marking">NU</span>' in html


def test_links_are_what_reverse_makes():
    from django.urls import reverse

    from engagements.tables import link
    from partners.models import Partner

    partner_url, detail_url = link("partners:detail"), link("engagements:detail")
    for code in [*Partner.objects.values_list("code", flat=True), "A B", "é-1", "a%b", "x?y#z"]:
        assert partner_url(code) == reverse("partners:detail", args=[code]), code
    for pk in [1, 42, 9876543210, 10**15]:
        assert detail_url(pk) == reverse("engagements:detail", args=[pk])
