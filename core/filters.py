"""The base of the project's FilterSets."""

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field


@extend_schema_field(OpenApiTypes.STR)
class CodeMultipleChoiceFilter(django_filters.ModelMultipleChoiceFilter):
    """Repeatable `?partner=JPN&partner=KOR`: any of these codes."""


@extend_schema_field(OpenApiTypes.STR)
class CodeChoiceFilter(django_filters.ModelChoiceFilter):
    """One object by its code."""


class FilterSet(django_filters.FilterSet):
    """A django-filter FilterSet that builds its form class once.

    django-filter makes a new form class, with a new form field per filter, for every
    FilterSet it instantiates, that is on every list request, export and API call: work
    that gives the same result every time. Ours draw their fields from nothing of the
    request (no callable querysets), so each class builds its form class on first use and
    keeps it. Each form still deep-copies the class's fields (Django's forms do, and a
    model choice field copies its queryset unevaluated), so no request sees another's
    field, value or rows: a partner added since shows in the next form. Change a field
    for one request on `filterset.form.fields[name]`; `filterset.filters[name].field` is
    not the field the form uses.
    """

    @classmethod
    def build_form_class(cls, form_class):
        """Adjust the form class once, when it is built (a subclass's hook)."""
        return form_class

    def get_form_class(self):
        cls = type(self)
        if "_form_class" not in cls.__dict__:  # not a parent's: its own filters
            cls._form_class = cls.build_form_class(super().get_form_class())
        return cls._form_class
