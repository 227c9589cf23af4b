"""The one way a person is written: created, changed or deleted (the API, the pages and
`import_people` only translate their input into these calls), like an engagement
(engagements.services):

- visibility and version are checked in the statement that claims the row
  (`UPDATE … WHERE id = … AND version = … AND marking IN (writer's markings)`), so a
  marking raised or a save made by someone else since the writer read the person refuses
  the write (404 or 409) instead of overwriting it;
- only the fields the caller sent are applied; affiliations, when sent, replace the
  person's affiliations as a whole;
- the marking is never above the writer's clearance; the rules are checked before
  anything is stored, and a refusal stores nothing;
- the history gets a row per write (django-simple-history), by the writer.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F

from accounts.markings import readable
from core.errors import StaleVersion
from people.models import Affiliation, Person

WRITABLE = ("name", "title", "partner", "email", "phone", "marking")
AFFILIATION_FIELDS = ("partner", "title", "start", "end")


class NotVisible(Person.DoesNotExist):
    """The person is absent, or marked above the writer's clearance, at the moment of the
    write: to the writer they do not exist (a 404)."""


def save_person(user, data, person_id=None, version=None):
    """Create a person (`person_id` None) or change one from `version`. `data` holds what
    the caller sent: fields of WRITABLE (`partner` a Partner or None) and `affiliations`
    ([{partner, title, start, end}], replacing them all). Raises ValidationError (nothing
    stored), StaleVersion or NotVisible."""
    unknown = set(data) - set(WRITABLE) - {"affiliations"}
    if unknown:
        raise TypeError(f"Not writable: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        if person_id is None:
            person = Person(created_by=user if user.pk else None)
        else:
            person = _claim(user, "change", person_id, version)
        for name in WRITABLE:
            if name in data:
                setattr(person, name, data[name])
        affiliations = data.get("affiliations")
        _validate(user, person, affiliations)
        person._history_user = user if user.pk else None
        person.save()
        if affiliations is not None:
            for old in person.affiliations.all():
                old._history_user = person._history_user
                old.delete()
            for item in affiliations:
                affiliation = Affiliation(person=person, **item)
                affiliation._history_user = person._history_user
                affiliation.save()
        return person


def delete_person(user, person_id, version):
    """Delete the person at `version`, if `user` may delete them at that instant. Their
    links to engagements go with them; the engagements stay."""
    with transaction.atomic():
        person = _claim(user, "delete", person_id, version)
        person._history_user = user if user.pk else None
        person.delete()
        return person


def _claim(user, action, person_id, version):
    if version is None:
        raise ValidationError({"version": ["Send the version you read."]})
    rows = Person.objects.restrict(user, action).filter(pk=person_id)
    if not rows.filter(version=version).update(version=F("version") + 1):
        if rows.exists():
            raise StaleVersion(person_id)
        raise NotVisible(person_id)
    return Person.objects.get(pk=person_id)


def _validate(user, person, affiliations):
    errors = {}
    try:
        person.full_clean(exclude=["created_by"], validate_constraints=False)
    except ValidationError as error:
        errors.update(error.message_dict)
    if not readable(user, person.marking):
        errors.setdefault("marking", []).append(
            f"You cannot mark a person above your clearance ({user.clearance})."
        )
    problems = []
    for number, item in enumerate(affiliations or [], start=1):
        unknown = set(item) - set(AFFILIATION_FIELDS)
        if unknown:
            raise TypeError(f"Not an affiliation's: {', '.join(sorted(unknown))}")
        try:
            Affiliation(person=person, **item).full_clean(exclude=["person"])
        except ValidationError as error:
            problems += [f"{number}: {message}" for message in error.messages]
    if problems:
        errors["affiliations"] = problems
    if errors:
        raise ValidationError(errors)
