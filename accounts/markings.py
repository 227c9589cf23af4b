"""The marking of a page: the highest marking of anything it shows, named at its top and
bottom (`marking-banner`, templates/base.html and the admin's), as the UK and NATO rules
for marked material ask (NIST SP 800-53 AC-16).

Views say what they show where they gather it (`shown(request, markings…)`, kept in
core/markings.py so that the admin's base classes can say it too): the rows of a list, an
engagement and its records, the engagements a report counts, the notes within the
reader's clearance. A page that shows nothing marked is NATO UNCLASSIFIED.

Notes (a tip status's, a target's, a partner's) carry a marking of their own; the record
they belong to does not. `readable()` is the one rule that decides whether a reader sees
a note's text.
"""

import dataclasses

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from rest_framework import serializers
from simple_history.template_utils import HistoricalRecordContextHelper

from accounts import audit
from accounts.choices import Marking
from accounts.models import visible_markings
from core import downloads
from core.markings import noted, shown

__all__ = [
    "MarkedNoteAdmin",
    "MarkedNoteForm",
    "MarkedNoteSerializer",
    "banner",
    "highest_of",
    "marked_download",
    "note_write_errors",
    "of_page",
    "readable",
    "shown",
    "shown_note",
    "writable_markings",
]


def of_page(request):
    return Marking.highest(marking for marking in noted(request) if marking in Marking.values)


def marked_download(request, name, header, rows, marking, file_format=None, filters=None):
    """A CSV or XLSX download (core.downloads, `format` from the query unless given) of
    `rows` under `name`, `marking` being the highest marking in it: the file's name ends
    with it (`engagements-NS.csv`), an XLSX sheet carries it in its header and footer, and
    once the last row is written the audit trail records the download (with its
    `filters`, the query's unless given, and the number of rows)."""
    file_format = file_format or request.GET.get("format", "csv")
    return downloads.download(
        file_format,
        name,
        header,
        rows,
        marking=(marking, Marking.banner(marking)),
        on_done=lambda count: audit.download(request, name, marking, count, file_format, filters),
    )


def banner(request):
    """Context processor: the page's marking, for the banners of templates/base.html; and
    the markings the reader may give a note (`note_markings`, read only if a page asks)."""
    marking = of_page(request)
    return {
        "page_marking": marking,
        "page_marking_label": Marking.banner(marking),
        "note_markings": lambda: writable_markings(getattr(request, "user", None)),
    }


def highest_of(rows, keys=("marking", "note_marking")):
    """The highest marking among report rows (dicts): of what each draws on (`marking`)
    and of the note it shows (`note_marking`, None when none is shown); NU for none."""
    return Marking.highest(row[key] for row in rows for key in keys if row.get(key))


def shown_note(user, text, marking):
    """(text, marking) of a note as `user` reads it: (None, None) when it is marked above
    the reader's clearance (withheld); the marking is None too for an empty note (nothing
    marked is shown)."""
    if not readable(user, marking):
        return None, None
    return text, marking if text else None


def readable(user, marking):
    """Whether `user` may read a note marked `marking` (its clearance, as for
    engagements: `visible_markings`): otherwise the note is withheld, and says so."""
    return marking in visible_markings(user)


# Writing a marked note. Every door (the pages' forms, the admin, the API) keeps the same two
# rules: nobody marks a note above their own clearance, and nobody changes a note they may
# not read (they would overwrite what they cannot see).

WITHHELD = "Withheld: marked above your clearance."


def writable_markings(user):
    """The (value, label) choices of a note's marking `user` may set."""
    return [(value, label) for value, label in Marking.choices if readable(user, value)]


def note_write_errors(user, instance, data, field="note"):
    """{field: [message]} for a write of `data` (the values sent) to `instance` (None:
    a new record) that breaks a rule above; {} when it keeps them."""
    marking = f"{field}_marking"
    if field not in data and marking not in data:
        return {}
    stored = getattr(instance, marking, None) if instance is not None and instance.pk else None
    if stored is not None and not readable(user, stored):
        return {field: [f"{WITHHELD} It is not yours to change."]}
    chosen = data.get(marking) or stored or Marking.NU
    if not readable(user, chosen):
        return {marking: [f"Above your clearance: mark it {user.clearance} or lower."]}
    return {}


class MarkedNoteForm(forms.ModelForm):
    """A page's form of a record whose note (`note_field`) carries its own marking: the
    marking is offered up to the writer's clearance (and, not sent, left as it is: NU
    for a new note); a stored note the writer may not read leaves the form, so a save
    keeps it as it is (`note_withheld`)."""

    note_field = "note"

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        marking = f"{self.note_field}_marking"
        self.note_withheld = bool(self.instance.pk) and not readable(
            user, getattr(self.instance, marking)
        )
        if self.note_withheld:
            for name in (self.note_field, marking):
                self.fields.pop(name, None)
        elif marking in self.fields:
            self.fields[marking].choices = writable_markings(user)
            self.fields[marking].required = False


class MarkedNoteSerializer(serializers.ModelSerializer):
    """A record whose note (`note_field`) carries its own marking (`<note_field>_marking`):
    for a reader not cleared to it both are null (withheld); writes keep
    `note_write_errors()`'s rules."""

    note_field = "note"

    def _user(self):
        return getattr(self.context.get("request"), "user", None)

    def get_fields(self):
        # Null in answers (withheld): so the schema says; a write of null is refused below.
        fields = super().get_fields()
        for name in (self.note_field, f"{self.note_field}_marking"):
            fields[name].allow_null = True
        return fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        marking = f"{self.note_field}_marking"
        if not readable(self._user(), getattr(instance, marking)):
            data[self.note_field] = data[marking] = None
        return data

    def validate(self, attrs):
        nulls = [
            name
            for name in (self.note_field, f"{self.note_field}_marking")
            if name in attrs and attrs[name] is None
        ]
        if nulls:
            raise serializers.ValidationError(
                {name: ["This field may not be null."] for name in nulls}
            )
        errors = note_write_errors(self._user(), self.instance, attrs, self.note_field)
        if errors:
            raise serializers.ValidationError(errors)
        return super().validate(attrs)


class MarkedNoteAdmin:
    """Model admin mixin for a record with a marked note (`note_field`): the marking is
    offered up to the admin's clearance; a note above it is neither shown nor changed (its
    fields leave the form, and a line says it is withheld). Its pages name the note's
    marking when they show it. (Notes are not searched in the admin: a search would tell
    which withheld notes hold a word.)"""

    note_field = "note"

    def _withheld(self, request, obj):
        marking = getattr(obj, f"{self.note_field}_marking", None) if obj is not None else None
        return marking is not None and not readable(request.user, marking)

    def get_exclude(self, request, obj=None):
        excluded = list(super().get_exclude(request, obj) or [])
        if self._withheld(request, obj):
            excluded += [self.note_field, f"{self.note_field}_marking"]
        return excluded

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "withheld_note"] if self._withheld(request, obj) else fields

    @admin.display(description="note")
    def withheld_note(self, obj):
        return WITHHELD

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == f"{self.note_field}_marking":
            kwargs["choices"] = writable_markings(request.user)
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def get_historical_record_context_helper(self, request, historical_record):
        """The history page's list of changes, with a note's old or new text withheld
        where the version that held it is marked above the admin's clearance."""
        return _NoteChanges(self.model, historical_record, self.note_field, request.user)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # Going back to a version writes its note over the current one: not when either
        # is withheld from this admin.
        if request.method == "POST":
            current = self.model._default_manager.filter(pk=unquote(object_id)).first()
            version = self.model.history.filter(history_id=version_id).first()
            if self._withheld(request, current) or self._withheld(request, version):
                raise PermissionDenied(f"{WITHHELD} It is not yours to change.")
        return super().history_form_view(request, object_id, version_id, extra_context)

    def shown_markings(self, request, objects, whole):
        """The markings an admin page shows: the note's, on a page of the whole record
        (`whole`: its form, its history) when the admin may read it."""
        markings = super().shown_markings(request, objects, whole)
        if whole:
            marking = f"{self.note_field}_marking"
            markings += [
                getattr(obj, marking)
                for obj in objects
                if getattr(obj, self.note_field, "") and not self._withheld(request, obj)
            ]
        return markings


class _NoteChanges(HistoricalRecordContextHelper):
    """django-simple-history's changes between two versions, a note's text withheld from
    a reader not cleared to the version that held it."""

    def __init__(self, model, record, field, user):
        super().__init__(model, record)
        self.field, self.user = field, user

    def context_for_delta_changes(self, delta):
        marking = f"{self.field}_marking"
        old_hidden = not readable(self.user, getattr(delta.old_record, marking))
        new_hidden = not readable(self.user, getattr(delta.new_record, marking))
        changes = [
            dataclasses.replace(
                change,
                old=WITHHELD if old_hidden else change.old,
                new=WITHHELD if new_hidden else change.new,
            )
            if change.field == self.field
            else change
            for change in delta.changes
        ]
        return super().context_for_delta_changes(dataclasses.replace(delta, changes=changes))
