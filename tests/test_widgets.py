"""The quick select widgets write what Django's own Select and SelectMultiple write."""

from html.parser import HTMLParser

import pytest
from django import forms
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.widgets import QuickSelect, QuickSelectMultiple
from partners.models import Partner

pytestmark = pytest.mark.usefixtures("reference_data")


class Tags(HTMLParser):
    """Tags with their attributes (in any order) and text, whitespace between tags aside."""

    def __init__(self, markup):
        super().__init__()
        self.seen = []
        self.feed(str(markup))

    def handle_starttag(self, tag, attrs):
        self.seen.append((tag, sorted(attrs)))

    def handle_endtag(self, tag):
        self.seen.append(("/" + tag,))

    def handle_data(self, data):
        if data.strip():
            self.seen.append(("text", data.strip()))


TRICKY = [("", "---------"), ("a&b", 'Fish & "chips" <b>'), ("x", "X"), (3, "three")]


@pytest.mark.parametrize("value", [None, "", "a&b", "3", "nothing"])
def test_quick_select_writes_what_select_writes(value):
    attrs = {"id": "id_kind", "aria-describedby": "help", "data-x": '"q"'}
    django_html = forms.Select(choices=TRICKY).render("kind", value, attrs)
    quick_html = QuickSelect(choices=TRICKY).render("kind", value, attrs)
    assert Tags(quick_html).seen == Tags(django_html).seen
    assert "<b>" not in quick_html and "Fish &amp; &quot;chips&quot; &lt;b&gt;" in quick_html


@pytest.mark.parametrize("value", [[], ["JPN"], ["JPN", "KOR", "ZZZ"]])
def test_quick_select_multiple_reads_a_queryset_in_one_plain_query(db, value):
    field = forms.ModelMultipleChoiceField(
        queryset=Partner.objects.order_by("name"), to_field_name="code"
    )
    attrs = {"id": "id_partner", "size": 5}
    django_html = forms.SelectMultiple(choices=field.choices).render("partner", value, attrs)
    with CaptureQueriesContext(connection) as queries:
        quick_html = QuickSelectMultiple(choices=field.choices).render("partner", value, attrs)
    assert Tags(quick_html).seen == Tags(django_html).seen
    assert len(queries) == 1 and queries[0]["sql"].startswith("SELECT")  # no DECLARE CURSOR
    assert quick_html.count(" selected") == len(set(value) - {"ZZZ"})


def test_option_groups_fall_back_to_djangos_rendering():
    grouped = [("Fruit", [("apple", "Apple"), ("pear", "Pear")]), ("x", "X")]
    django_html = forms.Select(choices=grouped).render("f", "pear")
    assert QuickSelect(choices=grouped).render("f", "pear") == django_html
