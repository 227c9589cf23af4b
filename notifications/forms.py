from django import forms

from notifications.models import Preference


class PreferenceForm(forms.ModelForm):
    class Meta:
        model = Preference
        fields = ["email"]
        labels = {"email": "Email me"}
        help_texts = {
            "email": "Nothing marked above what email may carry is ever sent: it waits here."
        }
