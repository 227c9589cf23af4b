"""An engagement's fields are declared once (engagements/fields.py): everything that lists
them follows the spec, and the spec follows the contract and the model."""

import re
import shutil

import pytest
from django.db import models

from config.settings import code_version
from engagements import exports, fields, importer
from engagements.admin import EngagementAdmin
from engagements.forms import EngagementForm
from engagements.models import Engagement
from engagements.snapshots import RelationSnapshot

pytestmark = pytest.mark.usefixtures("reference_data")

# CONTRACT.md, "Engagements", in its order.
CONTRACT_FIELDS = [
    "id", "title", "kind", "status", "start_date", "end_date", "location", "partners",
    "pillars", "facets", "tips", "marking", "escalation_risk", "summary", "outcomes",
    "created_by", "created_at", "updated_at", "version",
]  # fmt: skip
# What a client writes (the API's writable fields, an import's columns, a conflict's rows).
WRITABLE_FIELDS = CONTRACT_FIELDS[1:15]


def test_the_spec_is_the_contracts_and_the_models():
    assert fields.API_FIELDS == CONTRACT_FIELDS
    for name in fields.NAMES:
        assert Engagement._meta.get_field(name)
    history = Engagement.history.model
    for name, snapshot in fields.RELATION_FIELDS.items():
        assert isinstance(Engagement._meta.get_field(name), models.ManyToManyField), name
        assert snapshot in {field.name for field in RelationSnapshot._meta.fields}
        assert history._meta.get_field(snapshot)


def test_the_form_the_admin_and_the_import_follow_it():
    from django.contrib import admin

    assert set(fields.NAMES) - {"partners"} <= set(EngagementForm._meta.fields)
    assert [name for name in EngagementForm.field_order if name in fields.NAMES] == fields.NAMES
    engagement_admin = EngagementAdmin(Engagement, admin.site)
    assert engagement_admin.get_fields(request=None) == EngagementForm.field_order
    assert importer.COLUMNS == fields.NAMES


def test_every_choice_column_is_held_by_a_constraint():
    names = {constraint.name for constraint in Engagement._meta.constraints}
    for name in exports.CHECKED_CHOICES:
        assert f"engagements_engagement_{name}_valid" in names, name
    assert set(exports.CHECKED_CHOICES) == {"kind", "status", "marking", "escalation_risk"}


def test_the_tables_columns_are_the_specs(client, analyst):
    client.force_login(analyst)
    page = client.get("/engagements/?start_before=").content.decode()
    thead = re.search(r"<thead>(.*?)</thead>", page, re.S).group(1)
    cells = re.findall(r"<th[^>]*>(.*?)</th>", thead, re.S)
    headings = [re.sub(r"<[^>]+>|[▲▼]", "", cell).strip() for cell in cells]
    # The first column holds the bulk bar's checkboxes.
    assert headings == ["", *(fields.HEADINGS[name] for name in fields.TABLE_ORDER)]


def test_the_code_version_moves_with_a_template(tmp_path):
    """The key prefix of everything cached (settings.CODE_VERSION)."""
    from django.conf import settings

    for folder in ["templates", "core"]:
        shutil.copytree(settings.BASE_DIR / folder, tmp_path / folder)
    before = code_version(tmp_path)
    assert before == code_version(tmp_path)
    (tmp_path / "templates" / "includes" / "engagement_table.html").write_text("changed")
    assert code_version(tmp_path) != before
    assert settings.CACHES["default"]["KEY_PREFIX"] == settings.CODE_VERSION
