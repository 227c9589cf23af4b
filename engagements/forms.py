import datetime
import difflib
import functools
import re

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q

from accounts.choices import Marking
from accounts.markings import writable_markings
from accounts.models import users_who_may_see
from core.forms import ErrorSummaryMixin, whole_number
from engagements.bulk import from_codes
from engagements.choices import EngagementKind, EngagementStatus, EscalationRisk, PartnerRole
from engagements.fields import NAMES
from engagements.importer import IMPORT_MAX_BYTES, IMPORT_MAX_ROWS, ImportFileError, read_table
from engagements.models import Action, Engagement, Note, Review
from engagements.services import WRITABLE, save_engagement
from partners.models import Partner
from people.models import Person
from roadmap.models import Facet, Pillar, Tip

# The form's own fields for the partners (the picker fills in all three).
PARTNER_FIELDS = {"partners": ["partners", "lead_partner", "observers"]}

PARTNER_HELP = (
    "Every partner taking part. Ctrl/⌘-click (keyboard: Ctrl+↓ to move, Ctrl+Space to pick) "
    "chooses more than one; give the lead and the observers below."
)
# What the picker (static/js/partner-picker.js) says instead, once it has replaced the lists.
PARTNER_PICKER_HELP = (
    "Type a name, code or other name (“Vietnam”), then Enter adds the highlighted partner; "
    "↑/↓ move through the matches, Esc closes them, Backspace in the empty box removes the "
    "last partner. Each chosen partner has a role (lead, participant, observer): Tab to it."
)


class PartnerSelect(forms.SelectMultiple):
    """The native partner list (the no-JavaScript fallback), its options carrying the code
    and the other names the picker searches: "Vietnam" finds Viet Nam."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        partner = getattr(value, "instance", None)
        if partner is not None:
            option["label"] = f"{partner.name} ({partner.code})"
            option["attrs"].update(
                {"data-code": partner.code, "data-aliases": "; ".join(partner.alias_list)}
            )
            if not partner.active:
                option["label"] += " – inactive"
        return option

    def optgroups(self, name, value, attrs=None):
        """The chosen partners first, in the order they were given (a failed save shows
        them as they were entered), then the others in the list's order."""
        given = {str(code): position for position, code in enumerate(value)}
        groups = super().optgroups(name, value, attrs)

        def place(group):
            option = group[1][0]
            code = str(option["value"])
            return (0, given[code]) if option["selected"] and code in given else (1, group[2])

        return sorted(groups, key=place)


def person_label(person):
    """A person as the picker offers them: "Name (title, partner code)"."""
    known = ", ".join(filter(None, [person.title, person.partner.code if person.partner else ""]))
    return f"{person.name} ({known})" if known else person.name


def offered_partners(engagement):
    """Active partners, and the partners the engagement already has (an inactive partner
    stays on the engagements it was part of, but is not offered for new ones)."""
    offered = Q(active=True)
    if engagement.pk:
        offered |= Q(pk__in=engagement.partner_links.values("partner"))
    return Partner.objects.filter(offered).order_by("name")


class EngagementForm(ErrorSummaryMixin, forms.ModelForm):
    """Log or edit an engagement. The rules are the model's own (`clean()`, constraints,
    `validate_relations`, `validate_marking`), so the API enforces exactly the same.

    Partners come as three native lists (partners, the lead, the observers) that work
    without JavaScript; the partner picker turns them into one searchable list with a role
    on each chosen partner, and fills in the same three fields."""

    partners = forms.ModelMultipleChoiceField(
        queryset=Partner.objects.none(),
        to_field_name="code",
        help_text=PARTNER_HELP,
        widget=PartnerSelect(
            attrs={"size": 8, "data-partner-picker": "true", "data-help": PARTNER_PICKER_HELP}
        ),
    )
    lead_partner = forms.ModelChoiceField(
        queryset=Partner.objects.none(),
        to_field_name="code",
        required=False,
        label="Lead partner",
        help_text="Optional; must be one of the partners above.",
    )
    observers = forms.ModelMultipleChoiceField(
        queryset=Partner.objects.none(),
        to_field_name="code",
        required=False,
        help_text="Partners that only observed; must be among the partners above.",
        widget=forms.SelectMultiple(attrs={"size": 4}),
    )
    people = forms.ModelMultipleChoiceField(
        queryset=Person.objects.none(),
        required=False,
        label="People",
        help_text="Who took part. Ctrl/⌘-click to choose several; type a name to find one.",
        widget=forms.SelectMultiple(attrs={"size": 6, "data-person-picker": "true"}),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    # The page's order, which the error summary follows.
    # The fields in the spec's order (engagements/fields.py), the partners as the form's
    # three lists, then the version the edit started from.
    field_order = [
        *(name for field in NAMES for name in PARTNER_FIELDS.get(field, [field])),
        "people",
        "version",
    ]

    class Meta:
        model = Engagement
        fields = [name for name in NAMES if name != "partners"]  # partners: the form's own
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
        for name in ("partners", "lead_partner", "observers"):
            self.fields[name].queryset = offered_partners(self.instance)
        self.fields["pillars"].queryset = Pillar.objects.order_by("order")
        self.fields["facets"].queryset = Facet.objects.select_related("pillar").order_by(
            "pillar__order", "order"
        )
        self.fields["tips"].queryset = Tip.objects.order_by("number")
        # Only the people the writer may see; those it may not stay on the engagement
        # (the write service keeps them).
        self.fields["people"].queryset = (
            Person.objects.restrict(user).select_related("partner").order_by("name")
        )
        self.fields["people"].label_from_instance = person_label
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
            self.initial.setdefault(
                "people", list(self.instance.people.restrict(user).values_list("pk", flat=True))
            )

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

    def partner_roles(self):
        """{partner pk: role} from the three partner fields (a valid form only)."""
        roles = {partner.pk: PartnerRole.PARTICIPANT for partner in self.cleaned_data["partners"]}
        roles.update({p.pk: PartnerRole.OBSERVER for p in self.cleaned_data.get("observers") or ()})
        if self.cleaned_data.get("lead_partner"):
            roles[self.cleaned_data["lead_partner"].pk] = PartnerRole.LEAD
        return roles

    def save(self, commit=True):
        """Store through the one write service: raises StaleVersion if someone saved since
        `version`, NotVisible if the engagement left the user's sight meanwhile, and
        ValidationError if a rule fails at the moment of writing."""
        data = {name: self.cleaned_data[name] for name in WRITABLE}
        data.update(
            partners=list(self.cleaned_data["partners"]),
            partner_roles=self.partner_roles(),
            pillars=self.cleaned_data["pillars"],
            facets=self.cleaned_data["facets"],
            tips=self.cleaned_data["tips"],
            people=list(self.cleaned_data["people"]),
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
        # The engagement's page has a note and a file form too: ids of its own.
        kwargs.setdefault("auto_id", "id_action_%s")
        super().__init__(*args, **kwargs)
        self.instance.engagement = engagement
        self.fields["owner"].queryset = users_who_may_see(engagement.marking).order_by("username")
        self.fields["owner"].label_from_instance = lambda user: user.username


class ReviewForm(forms.ModelForm):
    class Meta:
        model = Review
        fields = ["decision", "note"]
        widgets = {"note": forms.Textarea(attrs={"rows": 2})}


# A possible duplicate starts or ends within this many days of the new engagement's dates.
DUPLICATE_DAYS = 3
# Words that say nothing about which engagement a title names.
COMMON_WORDS = {
    "the", "and", "for", "with", "from", "into", "about", "between", "among", "its", "their",
    "our", "new", "meeting", "visit", "event",
}  # fmt: skip


def title_words(title, ignore=()):
    return {
        word
        for word in re.findall(r"\w+", title.lower())
        if len(word) > 2 and word not in COMMON_WORDS and word not in ignore
    }


def partner_words(partners):
    """The words of partners' names, codes and other names: two engagements with
    Timor-Leste both say "Timor" and "Leste" without being the same engagement."""
    text = " ".join(f"{p.name} {p.code} {' '.join(p.alias_list)}" for p in partners)
    return title_words(text)


def possible_duplicates(user, partners, start_date, end_date, title, kind):
    """Engagements this user can see that may be the one being logged, each with the
    reasons it matched: [(engagement, [reason, …])], newest first.

    A candidate shares a partner, its dates lie within DUPLICATE_DAYS days of these, and
    its title is similar once the partners' names are left out: both say at least two of
    the same words and at least half of the shorter title's words, or the two titles read
    nearly the same (difflib ratio ≥ 0.8).
    """
    end_date = end_date or start_date
    slack = datetime.timedelta(days=DUPLICATE_DAYS)
    candidates = (
        Engagement.objects.restrict(user)
        .filter(partner_links__partner__in=partners, start_date__lte=end_date + slack)
        .filter(
            Q(end_date__gte=start_date - slack)
            | Q(end_date__isnull=True, start_date__gte=start_date - slack)
        )
        .distinct()
        .prefetch_related("partner_links__partner")
        .order_by("-start_date", "-id")[:50]
    )
    chosen = set(partners)
    found = []
    for other in candidates:
        others = [link.partner for link in other.partner_links.all()]
        ignore = partner_words([*chosen, *others])
        mine, theirs = title_words(title, ignore), title_words(other.title, ignore)
        shared = sorted(mine & theirs)
        ratio = difflib.SequenceMatcher(None, " ".join(sorted(mine)), " ".join(sorted(theirs)))
        similar = len(shared) >= 2 and len(shared) * 2 >= min(len(mine), len(theirs))
        if not (similar or (mine and theirs and ratio.ratio() >= 0.8)):
            continue
        reasons = [
            "same partner: " + ", ".join(p.name for p in others if p in chosen),
            _date_reason(start_date, end_date, other),
            "similar title: both say " + ", ".join(f"“{word}”" for word in shared)
            if shared
            else "nearly the same title",
        ]
        if other.kind == kind:
            reasons.append(f"same kind ({other.get_kind_display().lower()})")
        found.append((other, reasons))
    return found


def _date_reason(start_date, end_date, other):
    other_end = other.end_date or other.start_date
    if (other.start_date, other_end) == (start_date, end_date):
        return "same dates"
    if other.start_date <= end_date and other_end >= start_date:
        return "dates overlap"
    if other_end < start_date:
        gap = (start_date - other_end).days
    else:
        gap = (other.start_date - end_date).days
    return f"dates {gap} day{'s' if gap != 1 else ''} apart"


class ImportForm(ErrorSummaryMixin, forms.Form):
    """The import page's upload: read and checked as a whole file here; its rows are
    checked by `engagements.importer.import_rows`."""

    file = forms.FileField(
        label="CSV or XLSX file",
        help_text=f"Up to {IMPORT_MAX_BYTES // 1_000_000} MB and {IMPORT_MAX_ROWS:,} rows; "
        "bigger files: manage.py import_engagements.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > IMPORT_MAX_BYTES:
            raise ValidationError(
                f"The file is {upload.size:,} bytes; the page takes up to {IMPORT_MAX_BYTES:,}."
            )
        self.content = upload.read()
        try:
            self.rows = read_table(upload.name, self.content, max_rows=IMPORT_MAX_ROWS)
        except ImportFileError as error:
            raise ValidationError(f"{upload.name}: {error}") from None
        return upload


class NoteForm(forms.ModelForm):
    """A note's text and marking: only the markings `user` may set are offered (the write
    service checks it again)."""

    class Meta:
        model = Note
        fields = ["body", "marking"]
        widgets = {"body": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, user, **kwargs):
        kwargs.setdefault("auto_id", "id_note_%s")
        super().__init__(*args, **kwargs)
        self.fields["marking"].choices = writable_markings(user)


class AttachmentForm(forms.Form):
    file = forms.FileField(label="File")
    title = forms.CharField(label="Title", max_length=300, required=False)
    marking = forms.ChoiceField(label="Marking")

    def __init__(self, *args, user, **kwargs):
        kwargs.setdefault("auto_id", "id_file_%s")
        super().__init__(*args, **kwargs)
        self.fields["marking"].choices = writable_markings(user)


# Bulk edit from the list -------------------------------------------------------------


KEEP = [("", "— keep as it is —")]


class BulkEditForm(forms.Form):
    """The list's bar: one change for the selected rows (engagements.bulk). Every field is
    optional; at least one must say something. The options are read only when the bar is
    drawn or checked (the list caches the drawn bar), once for both sides of each."""

    status = forms.ChoiceField(choices=KEEP + EngagementStatus.choices, required=False)
    escalation_risk = forms.ChoiceField(choices=KEEP + EscalationRisk.choices, required=False)
    kind = forms.ChoiceField(choices=KEEP + EngagementKind.choices, required=False)
    marking = forms.ChoiceField(required=False, label="Raise the marking to")

    RELATED = {
        "partners": lambda: [
            (p.code, f"{p.name} ({p.code})")
            for p in Partner.objects.filter(active=True).order_by("name")
        ],
        "pillars": lambda: [(p.code, p.name) for p in Pillar.objects.order_by("order")],
        "facets": lambda: [
            (f.code, f"{f.name} ({f.pillar.name})")
            for f in Facet.objects.select_related("pillar").order_by("pillar__order", "order")
        ],
        "tips": lambda: [(str(t.number), str(t)) for t in Tip.objects.order_by("number")],
    }

    def __init__(self, *args, user, **kwargs):
        # Ids of their own: the filter panel above the list has a status, a kind, …
        kwargs.setdefault("auto_id", "id_bulk_%s")
        super().__init__(*args, **kwargs)
        self.fields["marking"].choices = KEEP + [
            (value, label) for value, label in Marking.choices if user.may_see(value)
        ]
        for name, read in self.RELATED.items():
            options = functools.cache(read)
            for side in ("add", "remove"):
                self.fields[f"{side}_{name}"] = forms.MultipleChoiceField(
                    choices=options,
                    required=False,
                    label=f"{side.capitalize()} {name}",
                    widget=forms.SelectMultiple(attrs={"size": 4}),
                )

    def items(self):
        """[(id, version)] of the rows ticked (`item` values "id:version")."""
        pairs = []
        for value in self.data.getlist("item"):
            pk, _, version = value.partition(":")
            pk, version = whole_number(pk, 18), whole_number(version, 9)
            if pk is not None and version is not None:
                pairs.append((pk, version))
        return list(dict(pairs).items())

    def change(self):
        """(set, add, remove) as engagements.bulk takes them (a valid form only)."""
        data = self.cleaned_data
        set_ = {name: data[name] for name in ("status", "escalation_risk", "kind", "marking")}
        return (
            {name: value for name, value in set_.items() if value},
            *(
                from_codes(
                    {
                        name: [int(v) if name == "tips" else v for v in data[f"{side}_{name}"]]
                        for name in self.RELATED
                        if data.get(f"{side}_{name}")
                    }
                )
                for side in ("add", "remove")
            ),
        )

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not any(self.change()):
            raise ValidationError("Choose what to change for the selected rows.")
        if not self.items():
            raise ValidationError("Tick the rows to change first.")
        return cleaned
