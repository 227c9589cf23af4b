"""The import page (`/engagements/import/`) and what goes with it: the template to fill in,
the codes and names a file may use, and the file of the rows that could not be imported.

Upload → a preview of every row (nothing stored) → import every row or none, or only the
valid rows. Between preview and import the file's bytes wait in the user's own session (one
file at a time, at most IMPORT_MAX_BYTES), under a random token the import form carries;
importing checks every row again, as the rows are written.
"""

import base64
import secrets

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.crypto import constant_time_compare

from accounts.choices import Marking
from accounts.markings import marked_download, shown
from core.downloads import DOWNLOAD_FORMATS
from core.uploads import BODY_ALLOWANCE, body_limit
from engagements.choices import EngagementKind, EngagementStatus, EscalationRisk
from engagements.forms import ImportForm
from engagements.importer import (
    COLUMNS,
    EXAMPLE,
    IMPORT_MAX_BYTES,
    IMPORT_MAX_ROWS,
    by_line,
    highest_marking_in,
    import_rows,
    read_table,
)
from partners.models import Partner
from roadmap.models import Facet, Pillar, Tip

SESSION_KEY = "engagement_import"

may_import = permission_required("engagements.add_engagement", raise_exception=True)


@body_limit(IMPORT_MAX_BYTES + BODY_ALLOWANCE)
@may_import
def engagement_import(request):
    if request.method == "POST" and "token" in request.POST:
        return _import(request)
    form = ImportForm(request.POST or None, request.FILES or None)
    context = {"form": form}
    if request.method == "POST" and form.is_valid():
        name = form.cleaned_data["file"].name
        result = import_rows(form.rows, request.user, dry_run=True)
        token = secrets.token_urlsafe(16)
        request.session[SESSION_KEY] = {
            "token": token,
            "name": name,
            "content": base64.b64encode(form.content).decode(),
            "errors": result.errors,
        }
        context.update(name=name, result=result, lines=by_line(form.rows, result), token=token)
        shown(request, highest_marking_in(form.rows))  # the preview shows the file's rows
    return render(request, "engagements/engagement_import.html", context)


def _import(request):
    pending = _pending(request, request.POST["token"])
    if pending is None or pending.get("imported"):
        messages.error(request, "That file is no longer waiting to be imported: upload it again.")
        return redirect("engagements:import")
    valid_only = request.POST.get("rows") == "valid"
    rows = _rows(pending)
    result = import_rows(rows, request.user, valid_only=valid_only)
    if not result.stored:  # something changed since the preview: nothing was stored
        pending["errors"] = result.errors
        request.session.modified = True
        context = {"form": ImportForm(), "name": pending["name"], "result": result}
        context.update(lines=by_line(rows, result), token=pending["token"])
        shown(request, highest_marking_in(rows))
        return render(request, "engagements/engagement_import.html", context)
    if result.errors:  # the valid rows only: the others stay downloadable, once imported
        pending.update(errors=result.errors, imported=True)
        request.session.modified = True
        messages.warning(
            request,
            f"Imported {len(result.created)} engagements from {pending['name']}; "
            f"{len({line for line, _, _ in result.errors})} rows were not imported "
            f"(download them with their problems from the import page).",
        )
    else:
        del request.session[SESSION_KEY]
        messages.success(
            request,
            f"Imported {len(result.created)} engagements from {pending['name']}; "
            "they are listed first.",
        )
    # Every date (imports hold plans), the newest logged first.
    return redirect(reverse("engagements:list") + "?start_before=&ordering=-id")


@may_import
def import_errors(request):
    """The rows of the waiting file that have problems, as CSV: the file's columns and an
    `errors` column; fix them and import this file."""
    pending = _pending(request, request.GET.get("token", ""))
    if pending is None:
        raise Http404("No file is waiting.")
    problems = {}
    for line, field, message in pending["errors"]:
        problems.setdefault(line, []).append(f"{field}: {message}")
    with_problems = [(line, row) for line, row in _rows(pending) if line in problems]
    rows = (
        [_cell(row.get(name, "")) for name in COLUMNS] + ["; ".join(problems[line])]
        for line, row in with_problems
    )
    marking = highest_marking_in(with_problems)
    header = [*COLUMNS, "errors"]
    # Recorded without the query: its token is the key to the waiting file.
    return marked_download(request, "import-problems", header, rows, marking, "csv", "")


@may_import
def import_template(request, format):
    """A file to fill in: the header and one example row."""
    if format not in DOWNLOAD_FORMATS:
        raise Http404("CSV or XLSX.")
    example = [[EXAMPLE.get(c, "") for c in COLUMNS]]
    marking = highest_marking_in([(2, EXAMPLE)])
    return marked_download(request, "engagements-template", COLUMNS, example, marking, format)


@may_import
def import_codes(request):
    """Every code and name a file may use."""
    context = {
        "partners": Partner.objects.order_by("name"),
        "pillars": Pillar.objects.order_by("order"),
        "facets": Facet.objects.select_related("pillar").order_by("pillar__order", "order"),
        "tips": Tip.objects.order_by("number"),
        "choices": [
            ("kind", EngagementKind.choices),
            ("status", EngagementStatus.choices),
            ("marking", [(v, label) for v, label in Marking.choices if request.user.may_see(v)]),
            ("escalation_risk", EscalationRisk.choices),
        ],
        "columns": COLUMNS,
    }
    return render(request, "engagements/import_codes.html", context)


def _pending(request, token):
    pending = request.session.get(SESSION_KEY)
    if not pending or not constant_time_compare(pending["token"], token):
        return None
    return pending


def _rows(pending):
    content = base64.b64decode(pending["content"])
    return read_table(pending["name"], content, max_rows=IMPORT_MAX_ROWS)


def _cell(value):
    """A value of a read row back as the file had it ("; " between list items)."""
    if isinstance(value, list):
        return "; ".join(value)
    return value if isinstance(value, str) else ""
