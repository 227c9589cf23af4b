from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from accounts.choices import Marking
from engagements.choices import PartnerRole
from engagements.models import Action, Engagement, Review
from engagements.services import WRITABLE, save_engagement
from partners.models import Partner
from roadmap.models import Facet, Pillar, Tip


class EngagementForm(forms.ModelForm):
    """Log or edit an engagement. The rules are the model's own (`clean()`, constraints,
    `validate_relations`, `validate_marking`), so the API enforces exactly the same."""

    partners = forms.ModelMultipleChoiceField(
        queryset=Partner.objects.order_by("name"),
        to_field_name="code",
        help_text="Every partner taking part. Type to narrow the list; Ctrl/⌘-click for more.",
        widget=forms.SelectMultiple(attrs={"size": 8, "data-filterable": "true"}),
    )
    lead_partner = forms.ModelChoiceField(
        queryset=Partner.objects.order_by("name"),
        to_field_name="code",
        required=False,
        label="Lead partner",
        help_text="Optional; must be one of the partners above.",
    )
    observers = forms.ModelMultipleChoiceField(
        queryset=Partner.objects.order_by("name"),
        to_field_name="code",
        required=False,
        help_text="Partners that only observed; must be among the partners above.",
        widget=forms.SelectMultiple(attrs={"size": 4}),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Engagement
        fields = [
            "title",
            "kind",
            "status",
            "start_date",
            "end_date",
            "location",
            "pillars",
            "facets",
            "tips",
            "marking",
            "escalation_risk",
            "summary",
            "outcomes",
        ]
        widgets = {
            "start_date": forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
            "end_date": forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
            "pillars": forms.CheckboxSelectMultiple,
            "facets": forms.CheckboxSelectMultiple,
            "tips": forms.CheckboxSelectMultiple,
            "summary": forms.Textarea(attrs={"rows": 4}),
            "outcomes": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["pillars"].queryset = Pillar.objects.order_by("order")
        self.fields["facets"].queryset = Facet.objects.select_related("pillar").order_by(
            "pillar__order", "order"
        )
        self.fields["tips"].queryset = Tip.objects.order_by("number")
        self.fields["marking"].choices = [
            (value, label) for value, label in Marking.choices if user.may_see(value)
        ]
        if self.instance.pk:
            links = list(self.instance.partner_links.select_related("partner"))
            self.initial.setdefault("partners", [link.partner.code for link in links])
            self.initial.setdefault(
                "lead_partner",
                next((link.partner.code for link in links if link.role == PartnerRole.LEAD), None),
            )
            self.initial.setdefault(
                "observers",
                [link.partner.code for link in links if link.role == PartnerRole.OBSERVER],
            )
            self.initial.setdefault("version", self.instance.version)

    def facets_by_pillar(self):
        """(pillar checkbox, [facet checkboxes]) pairs, so facets render under their pillar."""
        pillar_of = {str(f.pk): str(f.pillar_id) for f in self.fields["facets"].queryset}
        grouped = {}
        for box in self["facets"]:
            grouped.setdefault(pillar_of[str(box.data["value"])], []).append(box)
        return [(box, grouped.get(str(box.data["value"]), [])) for box in self["pillars"]]

    def clean(self):
        cleaned = super().clean()
        partners = list(cleaned.get("partners") or [])
        try:
            Engagement.validate_relations(
                partners, list(cleaned.get("pillars") or []), list(cleaned.get("facets") or [])
            )
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                if field not in self.errors:
                    self.add_error(field, messages)
        if cleaned.get("marking"):
            try:
                Engagement.validate_marking(self.user, cleaned["marking"])
            except ValidationError as error:
                self.add_error("marking", error.message_dict["marking"])
        lead = cleaned.get("lead_partner")
        if lead and partners and lead not in partners:
            self.add_error("lead_partner", "The lead partner must be one of the partners.")
        stray = [p.name for p in cleaned.get("observers") or [] if p not in partners]
        if stray and partners:
            self.add_error("observers", f"Not among the partners: {', '.join(stray)}.")
        if self.instance.pk and cleaned.get("version") is None:
            self.add_error(None, "This form is missing the version it was loaded from.")
        return cleaned

    def save(self, commit=True):
        """Store through the one write service: raises StaleVersion if someone saved since
        `version`, NotVisible if the engagement left the user's sight meanwhile, and
        ValidationError if a rule fails at the moment of writing."""
        data = {name: self.cleaned_data[name] for name in WRITABLE}
        partners = list(self.cleaned_data["partners"])
        roles = {partner.pk: PartnerRole.PARTICIPANT for partner in partners}
        roles.update({p.pk: PartnerRole.OBSERVER for p in self.cleaned_data.get("observers") or ()})
        if self.cleaned_data.get("lead_partner"):
            roles[self.cleaned_data["lead_partner"].pk] = PartnerRole.LEAD
        data.update(
            partners=partners,
            partner_roles=roles,
            pillars=self.cleaned_data["pillars"],
            facets=self.cleaned_data["facets"],
            tips=self.cleaned_data["tips"],
        )
        return save_engagement(self.user, data, self.instance.pk, self.cleaned_data.get("version"))


# Follow-up actions and escalation reviews (on the engagement's page) -------------------


class ActionForm(forms.ModelForm):
    """A new action of `engagement`; the owner is chosen among the people who can see it
    (the model's `clean()` checks it again through the one gate)."""

    class Meta:
        model = Action
        fields = ["title", "owner", "due"]
        widgets = {"due": forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})}

    def __init__(self, *args, engagement, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.engagement = engagement
        cleared = Marking.values[Marking.values.index(engagement.marking) :]
        self.fields["owner"].queryset = (
            get_user_model()
            .objects.filter(is_active=True, clearance__in=cleared)
            .exclude(groups=None, is_superuser=False)
            .distinct()
            .order_by("username")
        )
        self.fields["owner"].label_from_instance = lambda user: user.username


class ReviewForm(forms.ModelForm):
    class Meta:
        model = Review
        fields = ["decision", "note"]
        widgets = {"note": forms.Textarea(attrs={"rows": 2})}
