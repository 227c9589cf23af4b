"""Report pages as people read them (issue 12, items 9, 10 and 11): the trend's periods,
chart and table, the period form, the heat map's colours and the dashboard's panels."""

import calendar
import datetime
import re
from pathlib import Path

import pytest
from django.utils import timezone

from tests.factories import make_engagement

pytestmark = pytest.mark.usefixtures("reference_data")

CSS = Path(__file__).resolve().parent.parent / "static" / "css" / "app.css"
PILLAR_NAMES = [
    "Enhanced Dialogue and Cooperation",
    "Shared Security Concerns",
    "Economic Cooperation",
    "Humanitarian Assistance and Disaster Relief",
]


@pytest.fixture
def reader(client, manager_ns):
    """Who reads the reports: the cast's manager, signed in."""
    client.force_login(manager_ns)
    return manager_ns


def month_index(day):
    return day.year * 12 + day.month - 1


def label(index):
    return f"{index // 12}-{index % 12 + 1:02d}"


# Trend -----------------------------------------------------------------------------------


def test_last_12_months_are_twelve_whole_months(client, reader):
    today = timezone.localdate()
    data = client.get("/reports/trend/?period=12m").context["data"]
    # Worked out by hand: the month eleven months before this one, from its first day.
    first = month_index(today) - 11
    assert [p["period"] for p in data["periods"]] == [label(first + i) for i in range(12)]
    assert data["start"] == datetime.date(first // 12, first % 12 + 1, 1)
    assert data["end"] == today
    # The default (no parameters) is the same.
    assert client.get("/reports/trend/").context["data"]["start"] == data["start"]
    quarters = client.get("/reports/trend/?period=12m&interval=quarter").context["data"]
    assert len(quarters["periods"]) == 4 and quarters["start"].day == 1
    assert quarters["start"].month in (1, 4, 7, 10)


def test_a_partial_period_is_labelled(client, reader):
    html = client.get("/reports/trend/?start=2025-03-15&end=2025-05-31&status=any").content.decode()
    assert "2025-03 <small>(partial: 2025-03-15 to 2025-03-31)</small>" in html
    assert "2025-04</th>" in html and "2025-05</th>" in html


def test_the_chart_names_pillars_and_has_grid_ticks_and_an_all_pillars_line(client, reader):
    start = timezone.localdate().replace(day=1) - datetime.timedelta(days=40)
    for pillars in (["dialogue", "security"], ["dialogue"], ["hadr"]):
        make_engagement(pillars=pillars, start_date=start)
    response = client.get("/reports/trend/")
    html = response.content.decode()
    legend = re.search(r'<ul class="chart-legend".*?</ul>', html, re.S).group()
    for name in PILLAR_NAMES:
        assert name in legend
        assert f'<th scope="col">{name}</th>' in html  # the table's headings too
    assert "All pillars (distinct engagements)" in legend
    assert 'data-series="all"' in html
    # Gridlines with their values: peak 3 distinct engagements, one line per step of 1.
    grid = re.findall(r'class="tick" text-anchor="end" dominant-baseline="middle">(\d+)<', html)
    assert grid == ["0", "1", "2", "3"]
    assert len(re.findall(r'<line [^>]*class="grid', html)) == 4
    # A tick mark on the axis for every period.
    assert html.count(f'y2="{response.context["chart"]["baseline"] + 5}"') == 12
    # On a phone it takes the width there is: the viewBox scales (tests/e2e/test_layout.py).
    assert '<div class="chart-scroll">' in html
    assert ".chart .chart-scroll svg { display: block; width: 100%;" in CSS.read_text()


def test_the_current_month_so_far_is_drawn_as_partial_not_as_a_fall(client, reader):
    """The last 12 calendar months end with this month so far: the lines stop at the last
    whole month, a dotted stretch leads to this one, and the chart says "so far"."""
    today = timezone.localdate()
    html = client.get("/reports/trend/").content.decode()
    chart = client.get("/reports/trend/").context["chart"]
    partial = today.day < calendar.monthrange(today.year, today.month)[1]
    if partial:
        assert len(re.findall(r'data-series="all" data-partial="true"', html)) == 1
        assert [mark["label"] for mark in chart["partial_marks"]] == ["so far"]
        whole = chart["lines"][-1]["points"].split()
        assert len(whole) == 11  # the eleven whole months; the twelfth is dotted
        assert "dotted: a period cut by the range" in html
    # A range of whole months has nothing partial.
    html = client.get("/reports/trend/?start=2025-01-01&end=2025-06-30").content.decode()
    assert 'data-partial="true"' not in html and "dotted:" not in html


def test_coverage_and_trend_never_call_two_windows_by_one_name(client, reader):
    coverage = client.get("/reports/coverage/").content.decode()
    trend = client.get("/reports/trend/").content.decode()
    assert "Last 12 months, to today" in coverage and "calendar months" not in coverage
    assert "Last 12 calendar months (this one so far)" in trend and "to today" not in trend


# The period form ---------------------------------------------------------------------


def test_a_date_given_wins_over_the_preset(client, reader):
    data = client.get("/reports/coverage/?period=12m&start=2025-02-03").context["data"]
    assert data["start"] == datetime.date(2025, 2, 3) and data["end"] == timezone.localdate()
    html = client.get("/reports/coverage/?period=12m&start=2025-02-03").content.decode()
    assert '<option value="custom" selected>' in html
    assert "A date entered below wins over the preset" in html


def test_a_preset_leaves_the_dates_empty_so_a_later_preset_is_not_overruled(client, reader):
    html = client.get("/reports/coverage/?period=6m").content.decode()
    assert 'name="start" data-period-date aria-describedby' in html  # no value
    assert 'name="end" data-period-date aria-describedby' in html
    custom = client.get("/reports/coverage/?start=2025-01-01&end=2025-06-30").content.decode()
    assert 'name="start" data-period-date value="2025-01-01"' in custom


# The heat map ------------------------------------------------------------------------


def relative_luminance(hex_colour):
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(one, other):
    light, dark = sorted([relative_luminance(one), relative_luminance(other)], reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_contrast_helper_agrees_with_the_issue():
    """The issue measured #4b5563 on #38bdf8 at 3.52:1 (3.527…, cut to two places)."""
    assert 3.52 <= contrast("#4b5563", "#38bdf8") < 3.53


def test_every_heat_map_cell_has_text_contrast_of_at_least_4_5():
    css = CSS.read_text()
    shades = dict(
        (level, (background, colour))
        for level, background, colour in re.findall(
            r"\.heatmap td\.heat-(\d), \.heat-swatch\.heat-\d \{ background: (#[0-9a-f]{6}); "
            r"color: (#[0-9a-f]{6}); \}",
            css,
        )
    )
    assert sorted(shades) == ["0", "1", "2", "3", "4"]
    # The cell's count and date (small) take the cell's colour.
    assert ".heatmap td small { color: inherit; }" in css
    gap_label = re.search(r"\.heatmap td \.gap-label \{ color: (#[0-9a-f]{6}); \}", css).group(1)
    for level, (background, colour) in shades.items():
        assert contrast(colour, background) >= 4.5, (level, colour, background)
    assert contrast(gap_label, shades["0"][0]) >= 4.5
    # Stronger steps: each shade clearly darker than the one before.
    lightness = [relative_luminance(shades[str(n)][0]) for n in range(1, 5)]
    assert all(a / b > 1.5 for a, b in zip(lightness, lightness[1:], strict=False))


def test_the_heat_map_has_a_legend_clickable_totals_and_a_sticky_partner_column(client, reader):
    make_engagement(partners=["JPN"], pillars=["security"], start_date=timezone.localdate())
    html = client.get("/reports/coverage/").content.decode()
    assert '<ul class="heat-legend" aria-label="Heat map legend">' in html
    assert "the busiest cell (1)" in html
    totals = re.search(r"<tfoot>.*?</tfoot>", html, re.S).group()
    assert totals.count('<td class="total"><a href="/engagements/?') == 5
    css = CSS.read_text()
    assert (
        '.heatmap th[scope="row"], .heatmap thead th:first-child { position: sticky; left: 0;'
        in css
    )


# Dashboard ---------------------------------------------------------------------------


def test_planned_in_the_next_30_days_says_how_many_it_shows(client, reader):
    today = timezone.localdate()
    for offset in range(20):
        make_engagement(status="planned", start_date=today + datetime.timedelta(days=offset))
    make_engagement(status="planned", start_date=today + datetime.timedelta(days=31))
    response = client.get("/")
    html = response.content.decode()
    assert "15 of 20 shown, soonest first" in html
    end = (today + datetime.timedelta(days=30)).isoformat()
    assert (
        f'<a href="/engagements/?status=planned&amp;start_after={today.isoformat()}'
        f'&amp;start_before={end}&amp;ordering=start_date">See all 20 in the list</a>'
    ) in html


def test_my_recent_engagements_show_when_logged_and_when_they_start(client, reader):
    early = make_engagement(start_date=datetime.date(2020, 1, 2), created_by=reader)
    html = client.get("/").content.decode()
    section = re.search(r"My recently logged engagements.*?</section>", html, re.S).group()
    assert '<th scope="col">Logged</th>' in section and '<th scope="col">Start</th>' in section
    assert "2020-01-02" in section
    assert timezone.localtime(early.created_at).strftime("%Y-%m-%d %H:%M") in section
