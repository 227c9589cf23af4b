from django import forms

from accounts.choices import Marking
from core.forms import ErrorSummaryMixin
from people.models import Affiliation, Person

DATE = forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})


class PersonForm(ErrorSummaryMixin, forms.ModelForm):
    """A person's own fields; the rules are the write service's (people.services), so the
    API keeps the same."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Person
        fields = ["name", "title", "partner", "email", "phone", "marking"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["partner"].queryset = self.fields["partner"].queryset.order_by("name")
        self.fields["marking"].choices = [
            (value, label) for value, label in Marking.choices if user.may_see(value)
        ]
        if self.instance.pk:
            self.initial.setdefault("version", self.instance.version)

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk and cleaned.get("version") is None:
            self.add_error(None, "This form is missing the version it was loaded from.")
        return cleaned


AffiliationFormSet = forms.inlineformset_factory(
    Person,
    Affiliation,
    fields=["partner", "title", "start", "end"],
    widgets={"start": DATE, "end": DATE},
    extra=1,
    can_delete=True,
    max_num=100,
    validate_max=True,
)


def affiliations_of(formset):
    """The affiliations a valid formset holds, as the write service takes them: every
    form filled in and not marked for deletion."""
    return [
        {name: form.cleaned_data[name] for name in ("partner", "title", "start", "end")}
        for form in formset.forms
        if form.has_changed() or form.instance.pk
        if form.cleaned_data and not form.cleaned_data.get("DELETE")
    ]
