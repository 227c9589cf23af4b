"""Report parameters: one form per report (roadmap/forms.py) for its page, its downloads
and its API view. Bad ones are a 400 naming the field, never a 500 (CONTRACT.md, "Errors"):
not for dates past year 9999 or before year 1, huge numbers, or a period longer than 50
years, whichever ends are given."""

import datetime

import pytest
from django.http import QueryDict
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from reports.forms import CoverageForm
from tests.factories import api_client, make_engagement

pytestmark = pytest.mark.usefixtures("reference_data")

API = "/api/v1/"


REPORTS = ["coverage", "trend", "gaps"]


@pytest.mark.parametrize(
    "query",
    [
        "trend/?start=9999-12-01&end=9999-12-31",
        "trend/?start=9999-10-01&end=9999-12-31&interval=quarter",
        "coverage/?start=9999-12-01&end=9999-12-31",
        "trend/?start=0001-01-01&end=0001-12-31&interval=quarter",
        "gaps/?months=600&as_of=9999-12-31",
        "gaps/?months=1&as_of=0001-01-01",
        "coverage/?start=1976-01-01&end=2025-12-31",  # exactly 50 years
        "trend/?start=0001-01-01&end=0050-12-31",
    ],
)
def test_the_edges_of_the_calendar_answer(client, analyst, query):
    api = api_client(analyst).get(API + "reports/" + query)
    assert api.status_code == 200, api.content[:300]
    client.force_login(analyst)
    page = client.get("/reports/" + query)
    assert page.status_code == 200
    download = client.get("/reports/" + query + "&format=csv")
    assert download.status_code == 200
    b"".join(download.streaming_content)


def test_a_trend_up_to_the_last_day_there_is_ends_with_its_last_month(analyst):
    answer = api_client(analyst).get(API + "reports/trend/?start=9999-11-15&end=9999-12-31")
    assert [period["period"] for period in answer.json()["periods"]] == ["9999-11", "9999-12"]


@pytest.mark.parametrize(
    "query, field",
    [
        ("coverage/?start=0001-01-01&end=9999-12-31", "start"),
        ("coverage/?start=1975-01-01&end=2025-12-31", "start"),  # 51 years
        ("trend/?start=0001-01-01&end=9999-12-31", "start"),
        ("coverage/?start=0001-01-01", "start"),  # the end is today
        ("trend/?start=0001-01-01", "start"),
        ("trend/?start=1900-01-01&interval=quarter", "start"),
        ("coverage/?end=9999-12-31&start=1000-01-01", "start"),
        ("gaps/?months=601", "months"),
        ("gaps/?months=99999999999999999999999", "months"),
        ("gaps/?months=1e400", "months"),
        ("gaps/?as_of=10000-01-01", "as_of"),
        ("gaps/?as_of=0000-01-01", "as_of"),
        ("trend/?end=0000-12-31", "end"),
        ("coverage/?start=2025-13-01", "start"),
        ("coverage/?start=2025-05-01&end=2025-01-01", "end"),
        ("coverage/?status=maybe", "status"),
        ("coverage/?kind=zzz", "kind"),
        ("coverage/?region=mars", "region"),
        ("coverage/?rollup=everyone", "rollup"),
        ("trend/?interval=week", "interval"),
    ],
)
def test_bad_report_parameters_are_a_400_naming_the_field(client, analyst, query, field):
    api = api_client(analyst).get(API + "reports/" + query)
    assert api.status_code == 400
    assert list(api.json()) == [field] and all(isinstance(m, str) for m in api.json()[field])
    client.force_login(analyst)
    page = client.get("/reports/" + query)
    assert page.status_code == 400
    assert api.json()[field][0] in page.content.decode().replace("&#x27;", "'")
    download = client.get("/reports/" + query + "&format=csv")
    assert download.status_code == 400
    assert api.json()[field][0] in download.content.decode()


def test_only_one_end_given_takes_the_other_from_it(analyst):
    api = api_client(analyst)
    start_only = api.get(API + "reports/coverage/?start=2020-03-01").json()
    assert start_only["start"] == "2020-03-01"
    assert start_only["end"] == datetime.date.today().isoformat()
    end_only = api.get(API + "reports/trend/?end=2020-03-31").json()
    assert (end_only["start"], end_only["end"]) == ("2019-04-01", "2020-03-31")
    assert len(end_only["periods"]) == 12
    first_year = api.get(API + "reports/trend/?end=0001-12-31").json()
    assert (first_year["start"], len(first_year["periods"])) == ("0001-01-01", 12)


DATE_TEXT = st.one_of(
    st.dates().map(datetime.date.isoformat),
    st.dates(min_value=datetime.date(9999, 1, 1)).map(datetime.date.isoformat),
    st.dates(max_value=datetime.date(1, 12, 31)).map(datetime.date.isoformat),
    st.sampled_from(
        [
            "0001-01-01",
            "0001-12-31",
            "9999-01-01",
            "9999-11-30",
            "9999-12-01",
            "9999-12-31",
            "0000-01-01",
            "10000-01-01",
            "-0001-01-01",
            "2025-02-29",
            "2025-13-01",
            "1e400",
            "",
        ]
    ),
    st.integers(min_value=-99999, max_value=99999).map(lambda year: f"{year:04d}-06-15"),
    st.text(max_size=12),
)
NUMBER_TEXT = st.one_of(
    st.integers().map(str),
    st.sampled_from(["0", "1", "600", "601", "1e400", "-1", "9" * 40, "", "NaN"]),
    st.text(max_size=6),
)
PARAMETERS = st.fixed_dictionaries(
    {},
    optional={
        "start": DATE_TEXT,
        "end": DATE_TEXT,
        "as_of": DATE_TEXT,
        "months": NUMBER_TEXT,
        "interval": st.sampled_from(["month", "quarter", "week", ""]),
        "status": st.sampled_from(["completed", "planned", "any", "maybe", ""]),
        "period": st.sampled_from(["custom", "3m", "12m", "last_year", "nope", ""]),
        "rollup": st.sampled_from(["members", "x"]),
    },
)


def test_no_report_parameters_make_a_server_error(client, analyst):
    make_engagement(start_date=datetime.date(2025, 6, 1))
    api = api_client(analyst)
    client.force_login(analyst)
    seen = set()

    @given(report=st.sampled_from(REPORTS), params=PARAMETERS, how=st.sampled_from("apc"))
    @hypothesis_settings(
        max_examples=300,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def exercise(report, params, how):
        params = {name: value.replace("\x00", "") for name, value in params.items()}
        if how == "a":
            response = api.get(f"{API}reports/{report}/", params)
        else:
            if how == "c":
                params = {**params, "format": "csv"}
            response = client.get(f"/reports/{report}/", params)
        assert response.status_code in (200, 400), (report, params, response.status_code)
        seen.add(response.status_code)

    exercise()
    assert seen == {200, 400}  # it ran, and both kinds of answer came back


def test_parameters_parsed_once_a_day_follow_the_day(monkeypatch):
    """ReportForm.arguments_for keeps a query's arguments by day: asked again the same day,
    no form is built; the next day the default period moves with it; bad input is never
    kept."""
    CoverageForm._arguments.clear()
    today = [datetime.date(2026, 3, 10)]
    monkeypatch.setattr(timezone, "localdate", lambda *args: today[0])
    built = []
    monkeypatch.setattr(CoverageForm, "full_clean", _counting(CoverageForm.full_clean, built))

    first, invalid = CoverageForm.arguments_for(QueryDict(""))
    assert invalid is None and first["end"] == datetime.date(2026, 3, 10)
    again, _ = CoverageForm.arguments_for(QueryDict(""))
    assert again == first and len(built) == 1
    today[0] = datetime.date(2026, 3, 11)
    assert CoverageForm.arguments_for(QueryDict(""))[0]["end"] == datetime.date(2026, 3, 11)
    assert len(built) == 2
    for _ in range(2):
        arguments, invalid = CoverageForm.arguments_for(QueryDict("status=maybe"))
        assert arguments is None and "status" in invalid.error_dict()
    assert len(built) == 4


def _counting(method, calls):
    def counted(self, *args, **kwargs):
        calls.append(1)
        return method(self, *args, **kwargs)

    return counted
