"""On PostgreSQL the engagement CSV is written by one COPY statement
(`engagements.exports.copy_csv()`); it must be the very bytes the Python writer gives
(`python_rows()` through `downloads.csv_response()`), for awkward rows too.

Each test downloads the same URL twice: once as it is served, once with the COPY path
switched off, and compares the files byte for byte. One row is also written out by hand.
"""

import datetime

import pytest
from django.db import IntegrityError, connection, transaction

from accounts.choices import Marking, Role
from engagements import exports
from engagements.choices import EngagementStatus
from engagements.models import Engagement, EngagementPartner
from partners.models import Partner
from tests.factories import make_engagement, make_partner, make_user

pytestmark = [
    pytest.mark.usefixtures("reference_data"),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY: PostgreSQL only"),
]

UTC = datetime.UTC


def body(response):
    assert response.status_code == 200
    assert response.streaming  # never the whole file in memory
    return b"".join(response.streaming_content)


def both_paths(client, url, monkeypatch):
    copied = body(client.get(url))
    with monkeypatch.context() as patch:
        patch.setattr(exports.ExportRows, "csv_chunks", lambda rows: None)
        written = body(client.get(url))
    return copied, written


@pytest.fixture
def tricky(db):
    """Rows that test every rule of the CSV writer and of the formula guard."""
    author = make_user(Role.ANALYST, Marking.NS, username="@author")
    evil = make_partner(code="=EVIL", name="Evil")
    rows = [
        make_engagement(
            title="=SUM(A1:A9)",
            summary='He said "yes, at once", then left',
            outcomes="line one\nline two\r\nline three",
            location="",
            partners=[evil, "KOR", "JPN"],
            pillars=["security", "dialogue"],
            facets=["security.maritime", "dialogue.exercises"],
            tips=[5, 2],
            start_date=datetime.date(2025, 2, 3),
            end_date=datetime.date(2025, 2, 5),
            marking=Marking.NR,
            escalation_risk="medium",
            created_by=author,
        ),
        make_engagement(
            title="'=already quoted",
            summary="'plain quote stays",
            outcomes="''-1",
            location="\tTab town",
            partners=["AUS"],
            pillars=["hadr"],
            start_date=datetime.date(2025, 2, 3),  # same day: the id decides the order
        ),
        make_engagement(
            title="\rcarriage",
            summary="+65 6123 4567",
            outcomes="@everyone",
            location=" padded, with comma ",
            partners=["NZL", "IDN"],
            pillars=["economic"],
            start_date=datetime.date(2024, 12, 31),
            status=EngagementStatus.PLANNED,
        ),
        make_engagement(
            title="Back\\slash \\. and \\N",
            summary="\\.",
            outcomes="Nukuʻalofa — ✓",
            location="-",
            start_date=datetime.date(999, 1, 1),
            marking=Marking.NS,
        ),
        make_engagement(title='"quoted"', summary=",", outcomes="\n", location="a\rb"),
    ]
    # An observer among the partners, and links whose ids are not in code order.
    EngagementPartner.objects.filter(engagement=rows[0], partner__code="KOR").update(
        role="observer"
    )
    # Times with and without microseconds.
    Engagement.objects.filter(pk=rows[0].pk).update(
        created_at=datetime.datetime(2025, 2, 1, 9, 30, tzinfo=UTC),
        updated_at=datetime.datetime(2025, 2, 1, 10, 0, 0, 1, tzinfo=UTC),
    )
    return rows


def test_the_copy_is_the_python_file_byte_for_byte(client, tricky, monkeypatch):
    client.force_login(make_user(Role.MANAGER, Marking.NS))
    copied, written = both_paths(
        client, "/engagements/?format=csv&ordering=start_date", monkeypatch
    )
    assert copied == written
    lines = copied.split(b"\r\n")
    assert lines[0] == (
        b"id,title,kind,status,start_date,end_date,location,partners,pillars,facets,tips,"
        b"marking,escalation_risk,summary,outcomes,created_by,created_at,updated_at,version"
    )
    first = tricky[0]
    # Worked out by hand from the fixture: partners in the order they were linked (the
    # lead first); pillars in pillar order, facets by code, tips by number; the guard on
    # a cell's first character only.
    expected = (
        f"{first.pk},'=SUM(A1:A9),staff_talks,completed,2025-02-03,2025-02-05,,"
        "'=EVIL; KOR; JPN,dialogue; security,dialogue.exercises; security.maritime,2; 5,"
        'NR,medium,"He said ""yes, at once"", then left","line one\nline two\r\nline three",'
        "'@author,2025-02-01T09:30:00+00:00,2025-02-01T10:00:00.000001+00:00,1"
    ).encode()
    assert expected in copied
    assert copied.endswith(b"\r\n")
    assert "Nukuʻalofa — ✓".encode() in copied
    assert b"0999-01-01" in copied


@pytest.mark.parametrize(
    "query",
    [
        "",
        "ordering=title",
        "ordering=-marking",
        "ordering=kind",
        "ordering=-escalation_risk&status=completed",
        "partner=JPN&partner=AUS",
        "search=quote",
        "pillar=security",
        "start_after=2025-01-01",
        "search=nothing-matches-this",
        "start_after=not-a-date",
    ],
)
def test_filters_orders_and_clearance_give_the_same_file(client, tricky, monkeypatch, query):
    reader = make_user(Role.ANALYST, Marking.NC)  # the NS row does not exist for it
    client.force_login(reader)
    copied, written = both_paths(client, f"/engagements/?format=csv&{query}", monkeypatch)
    assert copied == written
    assert b"Back\\slash" not in copied


@pytest.mark.parametrize("query", ["", "ordering=title", "partner=JPN", "status=completed"])
@pytest.mark.parametrize("share", [0, 2])
def test_the_relations_of_every_engagement_or_of_the_download_give_the_same_file(
    client, tricky, monkeypatch, query, share
):
    """Grouping the links of every engagement (a download of most of the table) or only
    of the download's rows: the same file, and nothing of a row above the reader."""
    monkeypatch.setattr(exports, "MOST_OF_THE_TABLE", share)  # 0: always every; 2: never
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE engagements_engagement")  # the planner's row counts
    grouped = []
    relations_sql = exports._relations_sql
    monkeypatch.setattr(
        exports, "_relations_sql", lambda ids, qn: grouped.append(ids) or relations_sql(ids, qn)
    )
    client.force_login(make_user(Role.ANALYST, Marking.NC))
    copied, written = both_paths(client, f"/engagements/?format=csv&{query}", monkeypatch)
    assert copied == written
    assert grouped and all((ids is None) == (share == 0) for ids in grouped)
    assert b"Back\\slash" not in copied


def test_the_file_streams_in_pieces(client, tricky, monkeypatch):
    monkeypatch.setattr(exports, "COPY_CHUNK", 10)
    client.force_login(make_user(Role.MANAGER, Marking.NS))
    response = client.get("/engagements/?format=csv")
    pieces = list(response.streaming_content)
    assert len(pieces) == 1 + len(tricky)  # the header, then a piece per row here
    assert Partner.objects.filter(code="=EVIL").exists()


@pytest.mark.parametrize("name", exports.CHECKED_CHOICES)
def test_choice_columns_copied_as_they_are_can_hold_nothing_else(db, name):
    """The COPY writes these columns without the formula guard: every choice is a plain
    word, and the database refuses anything else, whatever the door."""
    field = Engagement._meta.get_field(name)
    assert all(value and value[0].isalpha() for value, _ in field.choices)
    engagement = make_engagement()
    with pytest.raises(IntegrityError), transaction.atomic():
        formula = ("=1+1" * field.max_length)[: field.max_length]  # =1 fits in marking's 2
        Engagement.objects.filter(pk=engagement.pk).update(**{name: formula})
