from django import forms

from roadmap.models import TipStatusUpdate


class TipStatusForm(forms.ModelForm):
    class Meta:
        model = TipStatusUpdate
        fields = ["status", "note"]
        widgets = {"note": forms.Textarea(attrs={"rows": 3})}
