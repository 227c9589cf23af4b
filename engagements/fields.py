"""An engagement's fields, declared once.

Everything that lists them is derived from here: the API's and the downloads' columns
(`API_FIELDS`), what the history tracks and what a write may set, the form's fields and
the admin's, the columns of the engagement tables, the columns of an import file. What
cannot be derived (the model field, its migration, a constraint, how a table cell shows
it) is listed in docs/development/adding-a-field.md.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    name: str
    # Its heading as a column of the engagement tables; empty: not a column.
    heading: str = ""
    # A many-to-many field: the history row's field that keeps its codes.
    snapshot: str = ""


FIELDS = (
    Field("title", "Title"),
    Field("kind", "Kind"),
    Field("status", "Status"),
    Field("start_date", "Start"),
    Field("end_date"),
    Field("location"),
    Field("partners", "Partners", snapshot="partner_codes"),
    Field("pillars", "Pillars", snapshot="pillar_codes"),
    Field("facets", snapshot="facet_codes"),
    Field("tips", snapshot="tip_numbers"),
    Field("marking", "Marking"),
    Field("escalation_risk"),
    Field("summary"),
    Field("outcomes"),
)

# What a writer sets, in the contract's order; the tracker sets the others itself.
NAMES = [field.name for field in FIELDS]
SYSTEM_FIELDS = ["created_by", "created_at", "updated_at", "version"]
# The contract's names, in order: the API, the downloads and the imports use exactly these.
API_FIELDS = ["id", *NAMES, *SYSTEM_FIELDS]
# The many-to-many fields: {name: the history row's field for their codes}.
RELATION_FIELDS = {field.name: field.snapshot for field in FIELDS if field.snapshot}
# The fields of the engagement's own row a write may set.
SCALAR_FIELDS = [name for name in NAMES if name not in RELATION_FIELDS]
# The engagement tables' columns, in the order shown.
TABLE_ORDER = ("start_date", "title", "kind", "status", "partners", "pillars", "marking")
HEADINGS = {field.name: field.heading for field in FIELDS if field.heading}
