"""The parameters of each report: one form per report, used by its page, its CSV/XLSX
downloads and its API view alike."""

import datetime

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from django.utils import timezone

from core.periods import interval_months, last_months, months_before, period_start
from engagements.choices import EngagementStatus
from partners.choices import PartnerKind, Region
from reports import queries

# Report parameters ---------------------------------------------------------------------
#
# One form per report, used by its page, its CSV/XLSX downloads and its API view alike, so
# that every entry point accepts the same values with the same limits. Invalid input is
# never corrected silently: the API answers the errors 400 {field: [messages]}, a page
# shows them (status 400) above the default report, a download answers them 400.

ISO_DATE = ["%Y-%m-%d"]  # the API's date format, and what <input type="date"> sends
MAX_PERIOD_MONTHS = queries.MAX_PERIOD_YEARS * 12

# The same words never name two windows: coverage's months run to today (12 months up to
# 2026-12-06 start on 2025-12-07); the trend's are calendar months, this one so far.
PERIOD_PRESETS = {
    "3m": "Last 3 months, to today",
    "6m": "Last 6 months, to today",
    "12m": "Last 12 months, to today",
    "this_year": "This year",
    "last_year": "Last year",
    "custom": "Custom dates",
}
TREND_PRESETS = {
    **PERIOD_PRESETS,
    "3m": "Last 3 calendar months (this one so far)",
    "6m": "Last 6 calendar months (this one so far)",
    "12m": "Last 12 calendar months (this one so far)",
}
ANY_STATUS = "any"


def months_up_to(months, end):
    """The first day of the `months` months up to and including `end` (as
    `core.periods.last_months`), or the first day there is if they would begin before it."""
    if end.year * 12 + end.month - 1 - months < datetime.MINYEAR * 12:
        return datetime.date.min
    return last_months(months, end)[0]


class ReportForm(forms.Form):
    """Always bound (no parameters is valid input: every field has a default)."""

    def __init__(self, data=None, today=None):
        super().__init__(data={} if data is None else data)
        self.today = today or timezone.localdate()

    # Valid parameters and their report's arguments, by query and day, in this process:
    # the same query on the same day always gives the same arguments (every choice here
    # is fixed), and building a form to find that out is most of a cached report's cost.
    _arguments = {}

    @classmethod
    def arguments_for(cls, data):
        """(the report's arguments, None), or (None, the bound form with its errors)."""
        query = tuple(sorted((name, tuple(values)) for name, values in data.lists()))
        key = (cls, query, timezone.localdate())
        arguments = cls._arguments.get(key)
        if arguments is not None:
            return dict(arguments), None
        form = cls(data)
        if not form.is_valid():
            return None, form
        if len(cls._arguments) >= 512:
            cls._arguments.clear()
        cls._arguments[key] = form.report_arguments()
        return dict(cls._arguments[key]), None

    def error_dict(self):
        """{field: [messages]}, as the API answers them."""
        return {
            "non_field_errors" if name == NON_FIELD_ERRORS else name: list(messages)
            for name, messages in self.errors.items()
        }

    def error_lines(self):
        """ "Label: message" for each error, as pages and downloads show them."""
        return [
            f"{self.fields[name].label}: {message}" if name in self.fields else message
            for name, messages in self.errors.items()
            for message in messages
        ]


class PeriodForm(ReportForm):
    """An inclusive period of at most 50 years (default: the last 12 months) and the status
    to count. With only a start, the period ends today; with only an end, it is the 12
    months up to that end. A preset sets both ends itself, unless a date is given: a date
    given wins over the preset (the period is then custom)."""

    presets = PERIOD_PRESETS
    period = forms.ChoiceField(label="Period", choices=list(PERIOD_PRESETS.items()), required=False)
    start = forms.DateField(
        label="From", required=False, input_formats=ISO_DATE, help_text="YYYY-MM-DD, inclusive"
    )
    end = forms.DateField(
        label="To",
        required=False,
        input_formats=ISO_DATE,
        help_text="YYYY-MM-DD, inclusive (default: today)",
    )
    status = forms.ChoiceField(
        label="Status",
        choices=[*EngagementStatus.choices, (ANY_STATUS, "Any")],
        required=False,
        help_text="the status to count (default: completed)",
    )

    def clean_status(self):
        return self.cleaned_data["status"] or EngagementStatus.COMPLETED

    def clean(self):
        data = super().clean()
        if self.has_error("start") or self.has_error("end") or self.has_error("period"):
            return data
        start, end = data.get("start"), data.get("end")
        # A date given wins over a preset: editing "From" or "To" means custom dates.
        preset = "custom" if start or end else (data.get("period") or "12m")
        data["period"] = preset
        if preset != "custom":
            data["start"], data["end"] = self.preset_period(preset)
            return data
        if end is None:
            end = self.today
        if start is None:
            start = months_up_to(12, end)
        if end < start:
            if data.get("end"):
                self.add_error("end", "The period ends before it starts.")
            else:
                self.add_error("start", "The period starts after today (give an end date).")
            return data
        earliest = months_up_to(MAX_PERIOD_MONTHS, end)
        if start < earliest:
            self.add_error(
                "start",
                f"A period spans at most {queries.MAX_PERIOD_YEARS} years: "
                f"to end on {end.isoformat()} it starts on {earliest.isoformat()} or later.",
            )
            return data
        data["start"], data["end"] = start, end
        return data

    def preset_period(self, preset):
        today = self.today
        if preset == "this_year":
            return datetime.date(today.year, 1, 1), today
        if preset == "last_year":
            return datetime.date(today.year - 1, 1, 1), datetime.date(today.year - 1, 12, 31)
        return last_months({"3m": 3, "6m": 6}.get(preset, 12), today)

    def status_filter(self):
        """The status argument of a report function: None counts every status."""
        status = self.cleaned_data["status"]
        return None if status == ANY_STATUS else status


class CoverageForm(PeriodForm):
    kind = forms.ChoiceField(label="Partner kind", choices=PartnerKind.choices, required=False)
    region = forms.ChoiceField(label="Region", choices=Region.choices, required=False)
    rollup = forms.ChoiceField(
        label="Roll-up",
        choices=[("members", "members")],
        required=False,
        help_text="members: an organization's row also counts its member states' engagements",
    )

    def report_arguments(self):
        """`queries.coverage()`'s keyword arguments, for the page, downloads and API."""
        cleaned = self.cleaned_data
        return {
            "start": cleaned["start"],
            "end": cleaned["end"],
            "kind": cleaned["kind"] or None,
            "region": cleaned["region"] or None,
            "status": self.status_filter(),
            "rollup": cleaned["rollup"] == "members",
        }


class TrendForm(PeriodForm):
    presets = TREND_PRESETS
    interval = forms.ChoiceField(
        label="Interval", choices=[("month", "month"), ("quarter", "quarter")], required=False
    )

    def clean_interval(self):
        return self.cleaned_data["interval"] or "month"

    def preset_period(self, preset):
        """The trend's "last N months" are whole months (quarters), today's included: the
        12 months of 2026-11-29 are 2025-12-01 to 2026-11-29 (twelve periods, not a thirteenth
        of one day at the start)."""
        start, end = super().preset_period(preset)
        months = {"3m": 3, "6m": 6, "12m": 12}.get(preset)
        if months:
            interval = self.cleaned_data.get("interval")
            step = interval_months(interval)
            first = period_start(end, interval)
            start = months_before(first, max(months, step) - step)
        return start, end

    def report_arguments(self):
        """`queries.trend()`'s keyword arguments, for the page, downloads and API."""
        cleaned = self.cleaned_data
        return {
            "start": cleaned["start"],
            "end": cleaned["end"],
            "interval": cleaned["interval"],
            "status": self.status_filter(),
        }


class GapsForm(ReportForm):
    months = forms.IntegerField(
        label="Months",
        required=False,
        min_value=1,
        max_value=MAX_PERIOD_MONTHS,
        help_text="the window without a completed engagement (default 6)",
    )
    as_of = forms.DateField(
        label="As of",
        required=False,
        input_formats=ISO_DATE,
        help_text="YYYY-MM-DD, the window's last day (default: today)",
    )

    def clean_months(self):
        months = self.cleaned_data["months"]
        return 6 if months is None else months

    def clean_as_of(self):
        return self.cleaned_data["as_of"] or self.today

    def report_arguments(self):
        """`queries.gaps()`'s keyword arguments, for the page, downloads and API."""
        return {"months": self.cleaned_data["months"], "as_of": self.cleaned_data["as_of"]}


class PlanForm(ReportForm):
    as_of = GapsForm.declared_fields["as_of"]  # each target's window ends there, as in gaps
    clean_as_of = GapsForm.clean_as_of

    def report_arguments(self):
        """`queries.plan()`'s keyword arguments, for the page, downloads and API."""
        return {"as_of": self.cleaned_data["as_of"]}
