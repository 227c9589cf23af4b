"""Bad input is a 400, never a 500 (CONTRACT.md, "Errors"): not for numbers out of range,
deeply nested or oversized JSON, or a forged cursor. Report parameters: see
test_report_parameters.py."""

import base64
import datetime

import pytest
from django.conf import settings

from accounts.choices import Marking, Role
from engagements.models import Engagement
from tests.factories import api_client, make_engagement, make_user

pytestmark = pytest.mark.usefixtures("reference_data")

API = "/api/v1/"


def post_raw(user, body, content_type="application/json"):
    return api_client(user).generic("POST", API + "engagements/", body, content_type=content_type)


VALID = (
    '{"title": "Raw JSON", "kind": "workshop", "status": "planned", "start_date": "2025-04-01",'
    ' "partners": ["JPN"], "pillars": ["security"], "marking": "NU", "escalation_risk": "low"'
)


# JSON bodies ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        VALID + ', "tips": [1e400]}',  # a float beyond the double range: infinity
        VALID + ', "tips": [-1e400]}',
        VALID + ', "tips": [NaN]}',
        "[" * 100_000,  # deeper than Python's recursion limit
        '{"a":' * 50_000 + "1" + "}" * 50_000,
        VALID + ', "tips": [' + "9" * 5000 + "]}",  # more digits than int() takes
        "{not json",
    ],
    ids=["1e400", "-1e400", "NaN", "100k-brackets", "50k-objects", "5000-digits", "garbage"],
)
def test_unparseable_or_out_of_range_json_is_a_400(analyst, body):
    response = post_raw(analyst, body)
    assert response.status_code == 400, response.content[:200]
    assert "detail" in response.json()
    assert not Engagement.objects.exists()


def test_an_oversized_json_body_is_a_400(analyst):
    padding = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    response = post_raw(analyst, VALID + f', "summary": "{padding}"}}')
    assert response.status_code == 400
    assert "too large" in response.json()["detail"]
    assert not Engagement.objects.exists()


def test_a_good_json_body_still_works_and_forms_are_still_parsed(analyst):
    assert post_raw(analyst, VALID + "}").status_code == 201
    form = api_client(analyst).post(
        API + "engagements/", {"title": "From a form", "kind": "workshop"}, format="multipart"
    )
    assert form.status_code == 400 and "partners" in form.json()  # parsed, then validated


# Forged cursors ------------------------------------------------------------------------


def cursor(raw):
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


FORGED = [
    '{"v": ["2025-01-01", 1e400], "d": "next"}',
    '{"v": ["2025-01-01", -1e400], "d": "next"}',
    '{"v": ["2025-01-01", 100000000000000000000000000000], "d": "next"}',
    '{"v": ["2025-01-01", -9223372036854775809], "d": "next"}',
    '{"v": ["2025-01-01", 1.5], "d": "next"}',
    '{"v": ["2025-01-01", true], "d": "next"}',
    '{"v": ["2025-01-01", "7"], "d": "next"}',
    '{"v": ["99999-01-01", 1], "d": "next"}',
    '{"v": ["0000-12-31", 1], "d": "next"}',
    '{"v": ["2025-02-30", 1], "d": "next"}',
    '{"v": ["2025-1-1", 1], "d": "next"}',
    '{"v": [20250101, 1], "d": "next"}',
    '{"v": [null, 1], "d": "next"}',
    '{"v": [["2025-01-01"], {"a": 1}], "d": "next"}',
    '{"v": ["2025-01-01", 1], "d": ["next"]}',
    '{"v": ["2025-01-01"], "d": "next"}',
    '{"v": "2025-01-01", "d": "next"}',
    '["2025-01-01", 1]',
    "[" * 5000,
    "not json",
]


@pytest.mark.parametrize("raw", FORGED)
def test_a_forged_cursor_is_refused_everywhere(client, analyst, raw):
    make_engagement()
    forged = cursor(raw)
    api = api_client(analyst).get(f"{API}engagements/?cursor={forged}")
    assert api.status_code == 400 and "cursor" in api.json()
    client.force_login(analyst)
    page = client.get(f"/engagements/?cursor={forged}")
    assert page.status_code == 200  # the first page, with a note that the link is stale
    assert "This page link is no longer valid." in page.content.decode()
    assert client.get(f"/partners/JPN/?cursor={forged}").status_code == 200


def test_a_forged_cursor_on_another_ordering_is_refused(client, analyst):
    make_engagement(title="Alpha")
    api = api_client(analyst)
    for ordering, raw in [
        ("title", '{"v": [1e400, 1], "d": "next"}'),
        ("title", '{"v": [12, 1], "d": "next"}'),
        ("title", '{"v": ["a\\u0000b", 1], "d": "next"}'),
        ("title", '{"v": ["' + "x" * 301 + '", 1], "d": "next"}'),
        ("kind", '{"v": ["picnic", 1], "d": "next"}'),
        ("id", '{"v": [1e400], "d": "previous"}'),
    ]:
        response = api.get(f"{API}engagements/?ordering={ordering}&cursor={cursor(raw)}")
        assert response.status_code == 400, (ordering, raw)


def test_the_cursors_we_make_still_work(analyst):
    made = [make_engagement(start_date=datetime.date(2025, 1, 1 + i)) for i in range(5)]
    api = api_client(analyst)
    for ordering in ["-start_date", "title", "-kind", "id"]:
        seen, url = [], f"{API}engagements/?page_size=2&ordering={ordering}"
        while url:
            answer = api.get(url).json()
            seen += [row["id"] for row in answer["results"]]
            url = answer["next"]
        assert sorted(seen) == sorted(e.pk for e in made), ordering


def test_notes_are_bounded(db, reference_data):
    api = api_client(make_user(Role.ADMIN, Marking.NS))
    response = api.post("/api/v1/tips/1/status/", {"status": "on_track", "note": "x" * 10_001})
    assert response.status_code == 400 and "note" in response.json()
    response = api.patch("/api/v1/partners/JPN/", {"notes": "x" * 10_001})
    assert response.status_code == 400 and "notes" in response.json()
