"""Select widgets that render in Python, for forms drawn on every request (list filters).

Django draws a <select> through a template, and each of its options through two more:
the engagement list's filters have about ninety options (every partner, facet, tip and
choice), drawn on every request, so that template work would be a large part of the page.
These widgets write the same HTML with one string join. They also read a queryset's
choices with one plain query: Django reads them with `queryset.iterator()`, which on
PostgreSQL outside a transaction is a server-side cursor (DECLARE … WITH HOLD, FETCH,
CLOSE) for a few dozen rows.

Flat choices only: a widget given option groups falls back to Django's rendering.
"""

import html

from django import forms
from django.forms.models import ModelChoiceIterator
from django.forms.utils import flatatt
from django.utils.safestring import mark_safe


def _escape(text):
    """django.utils.html.conditional_escape, without its per-call check for lazy strings
    (most of the time of an option)."""
    return text.__html__() if hasattr(text, "__html__") else html.escape(str(text))


def _choices(choices):
    if (
        isinstance(choices, ModelChoiceIterator)
        and getattr(choices.field, "null_label", None) is None
    ):
        field = choices.field
        head = [("", field.empty_label)] if field.empty_label is not None else []
        return head + [choices.choice(obj) for obj in choices.queryset.all()]
    return list(choices)


class QuickSelectMixin:
    """`option_data`: None, or a function of an option's object (a model choice) that
    returns its `data-*` attributes, {"code": "VNM", "aliases": "Vietnam"} (the list's
    type-to-filter box matches them)."""

    option_data = None

    def __init__(self, attrs=None, choices=(), option_data=None):
        super().__init__(attrs, choices)
        self.option_data = option_data

    def render(self, name, value, attrs=None, renderer=None):
        choices = _choices(self.choices)
        if any(isinstance(label, (list, tuple)) for _, label in choices):
            return super().render(name, value, attrs, renderer)
        attrs = self.build_attrs(self.attrs, attrs)
        if self.allow_multiple_selected:
            attrs["multiple"] = True
        chosen = set(self.format_value(value))
        picked = False
        options = []
        for raw, label in choices:
            option_value = "" if raw is None else str(raw)
            selected = option_value in chosen and (self.allow_multiple_selected or not picked)
            picked |= selected
            options.append(
                f'<option value="{_escape(option_value)}"{" selected" if selected else ""}'
                f"{self._data(raw)}>{_escape(label)}</option>"
            )
        # Every value and label escaped above, the attributes by flatatt.
        return mark_safe(
            f'<select name="{_escape(name)}"{flatatt(attrs)}>{"".join(options)}</select>'
        )

    def _data(self, value):
        instance = getattr(value, "instance", None)
        if self.option_data is None or instance is None:
            return ""
        return "".join(
            f' data-{name}="{_escape(text)}"' for name, text in self.option_data(instance).items()
        )


class QuickSelect(QuickSelectMixin, forms.Select):
    pass


class QuickSelectMultiple(QuickSelectMixin, forms.SelectMultiple):
    pass
