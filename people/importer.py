"""People to and from a table (CSV or XLSX): the list's downloads and `import_people`.

The columns are the API's names; `partner` is a partner's code, and `affiliations` lists
them separated by ";", each as `PARTNER|title|start|end` (dates ISO, either may be empty):
`ASEAN|Deputy Secretary-General|2021-01-01|2024-01-01; IDN|Ambassador||`. Every row is
parsed by the API's serializer and stored by the one write service; a file with any bad
row stores nothing. An import adds people: `id` and `version` are left out, so a download
imported again makes copies.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from rest_framework import serializers

from core.tables import CELL_MAX_CHARS, TOO_LONG
from people.api import PersonSerializer

COLUMNS = PersonSerializer.Meta.fields  # id, name, …, affiliations, version
IGNORED = ("id", "version")


def affiliations_text(person):
    """A person's affiliations in one cell (prefetched: no query)."""
    return "; ".join(
        "|".join(
            [
                affiliation.partner.code,
                affiliation.title.replace("|", "/").replace(";", ","),
                affiliation.start.isoformat() if affiliation.start else "",
                affiliation.end.isoformat() if affiliation.end else "",
            ]
        )
        for affiliation in person.affiliations.all()
    )


def export_rows(people):
    """A download's rows (COLUMNS) of `people`, a queryset with its affiliations
    prefetched (people.api.with_affiliations)."""
    for person in people:
        yield [
            person.pk,
            person.name,
            person.title,
            person.partner.code if person.partner else "",
            person.email,
            person.phone,
            person.marking,
            affiliations_text(person),
            person.version,
        ]


def _affiliations(text):
    items = []
    for piece in filter(None, (part.strip() for part in text.split(";"))):
        parts = piece.split("|")
        if len(parts) > 4:
            raise ValueError(
                f"“{piece}” has {len(parts)} parts; give PARTNER|title|start|end "
                "(a title may hold neither | nor ;)."
            )
        partner, title, start, end = ([*parts, "", "", ""])[:4]
        items.append(
            {
                "partner": partner.strip(),
                "title": title.strip(),
                "start": start.strip() or None,
                "end": end.strip() or None,
            }
        )
    return items


def import_rows(rows, user, dry_run=False):
    """Check every row ([(line, {column: text})], core.tables.read_table) and store them
    all as `user`, or none if any is bad (or on a dry run): [(line, field, message)]."""
    errors = []
    with transaction.atomic():
        for line, row in rows:
            data = {name: value for name, value in row.items() if name not in IGNORED}
            too_long = [name for name, value in data.items() if value is TOO_LONG]
            if too_long:
                message = f"Longer than {CELL_MAX_CHARS:,} characters."
                errors += [(line, name, message) for name in too_long]
                continue
            if "affiliations" in data:
                try:
                    data["affiliations"] = _affiliations(data["affiliations"])
                except ValueError as error:
                    errors.append((line, "affiliations", str(error)))
                    continue
            if data.get("partner") == "":
                data["partner"] = None
            serializer = PersonSerializer(data=data, context={"user": user})
            try:
                serializer.is_valid(raise_exception=True)
                with transaction.atomic():
                    serializer.save()
            except serializers.ValidationError as error:
                problems = serializers.as_serializer_error(error)
            except ValidationError as error:
                problems = error.message_dict
            else:
                continue
            for name, messages in problems.items():
                errors += [(line, name, message) for message in _flat(messages)]
        if dry_run or errors:
            transaction.set_rollback(True)
    return errors


def _flat(messages):
    """Messages as lines; an affiliation's (a nested serializer's {field: [messages]}, one
    per affiliation) numbered: "2, partner: Object with code=XYZ does not exist."."""
    if isinstance(messages, str):
        return [messages]
    if isinstance(messages, dict):  # {field: …}, or DRF's {index: {field: …}} of a list
        return [
            f"{name + 1 if isinstance(name, int) else name}{',' if isinstance(name, int) else ':'} "
            f"{line}"
            for name, inner in messages.items()
            for line in _flat(inner)
        ]
    lines = []
    for number, inner in enumerate(messages, start=1):
        if isinstance(inner, dict):
            lines += [f"{number}, {line}" for line in _flat(inner)]
        else:
            lines += _flat(inner)
    return lines
