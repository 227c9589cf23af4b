"""Forms of the roadmap's records: a tip's status, a target (set, or changed in its row)."""

from django import forms

from accounts.markings import MarkedNoteForm
from partners.models import Partner
from roadmap.models import Target, TipStatusUpdate


class TipStatusForm(MarkedNoteForm):
    """A tip's new status, its note marked up to the writer's clearance."""

    class Meta:
        model = TipStatusUpdate
        fields = ["status", "note", "note_marking"]
        widgets = {"note": forms.Textarea(attrs={"rows": 3})}


class TargetForm(MarkedNoteForm):
    """A target, on the plan page and the partner's profile (which fixes the partner)."""

    class Meta:
        model = Target
        fields = ["partner", "pillar", "minimum", "months", "note", "note_marking", "active"]
        widgets = {"note": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, partner=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["partner"].queryset = Partner.objects.filter(active=True).order_by("name")
        if partner is not None:  # kept as a field, so the one-active rule is checked
            self.fields["partner"].initial = partner.pk
            self.fields["partner"].widget = forms.HiddenInput()


class TargetEditForm(MarkedNoteForm):
    """A target changed in its row of the plan or the profile: how many, how often, why."""

    class Meta:
        model = Target
        fields = ["minimum", "months", "note", "note_marking"]
