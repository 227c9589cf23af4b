import datetime
import functools

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.db import OperationalError, connections, transaction
from django.db.models import Case, When
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from psycopg.errors import QueryCanceled

from accounts import audit, saved_views
from accounts.markings import marked_download, readable, shown
from accounts.models import highest_marking, visible_markings
from core.cache import result_key as cache_key
from core.db import local_settings
from core.downloads import DOWNLOAD_FORMATS
from core.pagination import paginate
from core.uploads import BODY_ALLOWANCE, body_limit
from engagements import conflicts, summaries
from engagements.bulk import BULK_JOB_ITEMS, bulk_edit
from engagements.choices import ActionStatus
from engagements.exports import EXPORT_FIELDS, export_file_name, export_rows, with_relations
from engagements.filters import (
    SORTABLE,
    ActionFilter,
    EngagementFilterSet,
    filter_chips,
    filtered_list,
)
from engagements.forms import (
    ActionForm,
    AttachmentForm,
    BulkEditForm,
    EngagementForm,
    NoteForm,
    ReviewForm,
    possible_duplicates,
)
from engagements.history import engagement_history, markings_shown, readable_history
from engagements.models import Action, Attachment, Engagement, Note, Review, StaleVersion
from engagements.search import search
from engagements.services import (
    NotVisible,
    delete_attachment,
    delete_engagement,
    delete_note,
    save_attachment,
    save_note,
    save_record,
)
from engagements.tables import TABLE_COLUMNS, table_rows
from engagements.tasks import start_bulk_edit, start_export
from jobs.choices import JobKind, JobStatus
from jobs.models import Job

PAGE_SIZES = (25, 50, 100, 250, 500)


def export_download(request, job_id):
    """The file an export job wrote, for its starter only, while it is kept and while its
    highest marking is within their clearance (it may have been lowered since); recorded
    in the audit trail as the download it is."""
    job = get_object_or_404(
        Job.objects.restrict(request.user).filter(kind=JobKind.EXPORT, status=JobStatus.DONE),
        pk=job_id,
    )
    result, name = job.result, export_file_name(job)
    kept_until = job.finished_at + datetime.timedelta(hours=settings.EXPORT_KEEP_HOURS)
    if not readable(request.user, result["marking"]):
        raise Http404("No such file.")
    if timezone.now() > kept_until or not default_storage.exists(name):
        return render(request, "jobs/job_detail.html", {"job": job, "expired": True}, status=410)
    audit.download(
        request, "engagements", result["marking"], result["rows"], "xlsx", job.arguments["query"]
    )
    return FileResponse(
        default_storage.open(name, "rb"), as_attachment=True, filename=result["filename"]
    )


def get_visible_engagement(request, pk):
    """The engagement, or 404 when it does not exist for this user (absent or above clearance)."""
    return get_object_or_404(Engagement.objects.restrict(request.user), pk=pk)


# The list counts its rows up to this many, then says "more than": never a COUNT over the
# whole table (a bounded subquery reads at most LIST_COUNT_LIMIT + 1 index entries).
LIST_COUNT_LIMIT = 10_000


# What the list reads of each row: the columns its table shows, the sort keys (its
# cursors), and the version (part of the rows' cache key); not the texts and times it
# never shows.
LIST_COLUMNS = sorted({*TABLE_COLUMNS, *SORTABLE.values(), "version"})


def engagement_list(request):
    """The engagement list. Opened bare, it goes to the user's default view if they made
    one (accounts.saved_views). Opened with no filter or search at all, it shows engagements
    starting up to today (newest first), so the first screen is recent work, not next
    year's plans; the filter shows as a chip like any other, and removing it
    (`start_before=` empty) shows every date. Any filter or search given searches every
    date: a plan logged a minute ago is found by its title."""
    params = request.GET
    if not params:  # opened bare: on the user's default view, if they chose one
        default = saved_views.default_address(request)
        if default and default != request.path:
            return redirect(default)
    filterset, engagements, key, keyset = filtered_list(params, request.user)
    params = filterset.data  # with the default date when none was given

    if request.GET.get("format") == "xlsx" and engagements[: settings.XLSX_JOB_ROWS + 1].count() > (
        settings.XLSX_JOB_ROWS
    ):
        # Too long to write while the request waits: a job writes it, its page follows it.
        job = start_export(request.user, request.GET.urlencode())
        return redirect("jobs:detail", job.pk)
    if request.GET.get("format") in DOWNLOAD_FORMATS:
        # The file is named before its first row is written: its highest marking is asked
        # of the same filtered rows first (one aggregate query).
        return marked_download(
            request,
            "engagements",
            EXPORT_FIELDS,
            export_rows(engagements.order_by(*keyset)),  # one snapshot, through the gate
            highest_marking(engagements),
        )

    per_page = _page_size(request)
    listed = engagements.only(*LIST_COLUMNS)
    try:
        page = paginate(listed, keyset, per_page, request.GET.get("cursor"))
    except ValidationError as error:
        messages.error(request, error.messages[0])
        page = paginate(listed, keyset, per_page)
    shown(request, *(engagement.marking for engagement in page))
    # Counted or drawn once, then from the cache: the count for the same filters (today's
    # date included when none is given) and data; the filter panel for the same filters
    # and directory (its options); the rows at the same versions, names and headings.
    filters = saved_views.clean_query(params.urlencode())
    data, directory = summaries.stamps()
    count = cached_count(request.user, filters, engagements, data)
    # The panel shows what the person asked for: the default date is a chip, not a value
    # in the form, so that a search sent from the panel searches every date.
    panel = filterset if params is request.GET else EngagementFilterSet(request.GET)
    return render(
        request,
        "engagements/engagement_list.html",
        {
            "filterset": filterset,
            "form": panel.form,
            "page": page,
            "rows": functools.partial(table_rows, page),  # drawn on a miss only
            "rows_key": (
                request.GET.urlencode(),
                [(e.pk, e.version) for e in page],
                directory,
            ),
            "count": count,
            "count_label": count_label(count),
            "chips": filter_chips(filterset, request.GET),
            "saved_views": saved_views.listed(request),
            "save_query": saved_views.clean_query(request.GET.urlencode()),
            "filters_key": (saved_views.clean_query(request.GET.urlencode()), directory),
            "directory": directory,
            "ordering": key,
            "per_page": per_page,
            "page_sizes": PAGE_SIZES,
            "bulk_form": (
                BulkEditForm(user=request.user)
                if request.user.has_perm("engagements.change_engagement")
                else None
            ),
        },
    )


# On PostgreSQL counting stops after this long: a filter that matches many rows of a
# million, but rarely (a partner and a pillar over a year), must read far into the table to
# find its 10,001st row, and the page must not wait for a number it cannot show exactly.
LIST_COUNT_TIMEOUT = "300ms"


def bounded_count(engagements):
    """The number of rows, exact up to LIST_COUNT_LIMIT, else LIST_COUNT_LIMIT + 1:
    `SELECT COUNT(*) FROM (SELECT id … LIMIT 10001)`; None when PostgreSQL gave up
    counting after LIST_COUNT_TIMEOUT (the statement alone, in a savepoint)."""
    rows = engagements.order_by().values("pk")[: LIST_COUNT_LIMIT + 1]
    connection = connections[rows.db]
    if connection.vendor != "postgresql":
        return rows.count()
    try:
        with (
            transaction.atomic(using=rows.db),
            local_settings(connection, {"statement_timeout": LIST_COUNT_TIMEOUT}),
        ):
            return rows.count()
    except OperationalError as error:
        if isinstance(error.__cause__, QueryCanceled):
            return None
        raise


# A count is kept this long at most; a write anywhere moves the stamp and so the key.
LIST_COUNT_CACHE_SECONDS = 600


def cached_count(user, filters, engagements, stamp):
    """`bounded_count(engagements)`, counted once per reader's clearance, filters, day and
    data stamp (core.cache's key, as the reports'), then from the cache."""
    key = cache_key("engagement_list_count", visible_markings(user), (filters,), {}, stamp)
    cached = cache.get(key)  # (count,): None is a count given up, not a miss
    if cached is None:
        cached = (bounded_count(engagements),)
        # A count given up may have met a busy moment: tried again soon.
        seconds = LIST_COUNT_CACHE_SECONDS if cached[0] is not None else 60
        cache.set(key, cached, seconds)
    return cached[0]


def count_label(count):
    if count is None:
        return "Many engagements match (too many to count quickly)."
    if count > LIST_COUNT_LIMIT:
        return f"More than {LIST_COUNT_LIMIT:,} engagements match."
    return f"{count:,} engagement{'' if count == 1 else 's'} match{'es' if count == 1 else ''}."


def _page_size(request):
    try:
        size = int(request.GET.get("page_size", 50))
    except ValueError:
        return 50
    return min(max(size, 1), 500)


def engagement_detail(request, pk, note_form=None, attachment_form=None, **forms):
    engagement = get_object_or_404(with_relations(Engagement.objects.restrict(request.user)), pk=pk)
    audit.read(request, engagement, "page")
    history = engagement_history(engagement.pk, request.user)
    people = list(engagement.people.restrict(request.user).select_related("partner"))
    # The engagement with its actions and reviews (marked as it is), the people who took
    # part as the reader may see them, and the versions of its history within the
    # reader's clearance.
    shown(request, engagement.marking, *markings_shown(history), *(p.marking for p in people))
    return render(
        request,
        "engagements/engagement_detail.html",
        {
            **follow_up(request, engagement, **forms),
            **note_panel(request, {"engagement": engagement}, note_form),
            **attachment_panel(request, engagement, attachment_form),
            "note_action": reverse("engagements:add-note", args=[engagement.pk]),
            "engagement": engagement,
            "facets": list(engagement.facets.select_related("pillar")),
            "people": people,
            "can_change": engagement.allows(request.user, "change"),
            "can_delete": engagement.allows(request.user, "delete"),
            "can_read_audit": request.user.has_perm("accounts.view_auditentry"),
            "history": readable_history(history),
        },
    )


@permission_required("engagements.add_engagement", raise_exception=True)
def engagement_create(request):
    form = EngagementForm(request.POST or None, user=request.user)
    duplicates = []
    if request.method == "POST" and form.is_valid():
        if not request.POST.get("confirm_duplicate"):
            duplicates = possible_duplicates(
                request.user,
                form.cleaned_data["partners"],
                form.cleaned_data["start_date"],
                form.cleaned_data["end_date"],
                form.cleaned_data["title"],
                form.cleaned_data["kind"],
            )
        if not duplicates:
            try:
                engagement = form.save()
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, f"Logged “{engagement.title}”.")
                return redirect(engagement)
    shown(request, *_form_markings(form), *(other.marking for other, _ in duplicates))
    return render(
        request,
        "engagements/engagement_form.html",
        {"form": form, "duplicates": duplicates, "creating": True},
    )


@permission_required("engagements.change_engagement", raise_exception=True)
def engagement_edit(request, pk):
    engagement = get_visible_engagement(request, pk)
    if request.method == "POST" and request.POST.get("resolve"):
        return _resolve_conflict(request, engagement)
    form = EngagementForm(request.POST or None, instance=engagement, user=request.user)
    if request.method == "POST" and form.is_valid():
        return _save_edit(request, form, base_version=form.cleaned_data["version"])
    return _edit_page(request, form)


def _form_markings(form):
    """What an engagement form shows: the stored engagement (its marking as read) and the
    person's own input (the marking they chose)."""
    return [form.initial.get("marking"), getattr(form, "cleaned_data", {}).get("marking")]


def _edit_page(request, form):
    shown(request, *_form_markings(form))
    return render(
        request, "engagements/engagement_form.html", {"form": form, "engagement": form.instance}
    )


def _save_edit(request, form, base_version):
    """Save a valid edit form; someone else's save since is a conflict screen, never an
    overwrite. `base_version`: the version the person started from."""
    try:
        engagement = form.save()
    except ValidationError as error:
        form.add_error(None, error)
        return _edit_page(request, form)
    except StaleVersion:
        # The other version, only if this user may see it now (it may have been raised).
        current = Engagement.objects.restrict(request.user).filter(pk=form.instance.pk).first()
        if current is None:
            return _gone(request)
        return _conflict_page(request, form, current, base_version)
    except NotVisible:
        return _gone(request)
    messages.success(request, f"Saved “{engagement.title}”.")
    return redirect(engagement)


def _conflict_page(request, form, current, base_version, chosen=None, comparison=None):
    comparison = comparison or conflicts.compare(form, current, base_version, request.user, chosen)
    # Theirs, yours and the original version (shown only within the reader's clearance).
    marking_row = next(row for row in comparison["rows"] if row["field"] == "marking")
    shown(request, current.marking, marking_row["original"], *_form_markings(form))
    return render(
        request,
        "engagements/engagement_conflict.html",
        {
            "current": current,
            "base_version": base_version,
            "yours": conflicts.carried_input(form.data),
            "asked": chosen is not None,
            **comparison,
        },
    )


def _resolve_conflict(request, engagement):
    """The conflict screen's answer: the person's input, the version it was shown against,
    and a pick per field. Saved on top of that version, or a new conflict screen."""
    yours = EngagementForm(request.POST, instance=engagement, user=request.user)
    if not yours.is_valid():
        return _edit_page(request, yours)
    base_version = _int(request.POST.get("base_version"))
    # Read afresh: the form has written the person's input onto `engagement`.
    current = get_visible_engagement(request, engagement.pk)
    if current.version != yours.cleaned_data["version"]:  # saved again since the screen
        return _conflict_page(request, yours, current, base_version)
    chosen = conflicts.picks(request.POST)
    comparison = conflicts.compare(yours, current, base_version, request.user, chosen)
    if comparison["missing"]:
        return _conflict_page(request, yours, current, base_version, chosen, comparison)
    merged = conflicts.merged_data(request.POST, current, chosen, request.user)
    form = EngagementForm(merged, instance=current, user=request.user)
    if not form.is_valid():
        return _edit_page(request, form)
    return _save_edit(request, form, base_version)


def _gone(request):
    messages.error(
        request,
        "Nothing was saved: the engagement was deleted or is no longer visible to you.",
    )
    return redirect("engagements:list")


def engagement_delete(request, pk):
    engagement = get_visible_engagement(request, pk)
    if not engagement.allows(request.user, "delete"):
        raise PermissionDenied("You may delete only engagements you logged.")
    if request.method == "POST":
        try:
            delete_engagement(request.user, pk, _int(request.POST.get("version")))
        except (StaleVersion, ValidationError):
            messages.error(
                request,
                "Nothing was deleted: someone changed this engagement since you opened the "
                "page. Check the newest version and delete again if you still mean to.",
            )
            return redirect(engagement)
        except NotVisible:
            return _gone(request)
        messages.success(request, f"Deleted “{engagement.title}”.")
        return redirect("engagements:list")
    shown(request, engagement.marking)
    return render(request, "engagements/engagement_confirm_delete.html", {"engagement": engagement})


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# Follow-up actions and escalation reviews ------------------------------------------------


def follow_up(request, engagement, action_form=None, review_form=None):
    """The engagement page's actions and reviews, with the forms to add them."""
    # Through the actions' and reviews' own gates, as every read (not engagement.actions).
    reviews = list(
        Review.objects.restrict(request.user)
        .filter(engagement=engagement)
        .select_related("by")
        .order_by("-at", "-id")
    )
    current = next((review for review in reviews if review.current), None)
    user = request.user
    if action_form is None and user.has_perm("engagements.add_action"):
        action_form = ActionForm(engagement=engagement)
    if review_form is None and user.has_perm("engagements.add_review"):
        review_form = ReviewForm()
    return {
        "actions": action_rows(
            Action.objects.restrict(user).filter(engagement=engagement).select_related("owner"),
            user,
        ),
        "action_form": action_form,
        "reviews": reviews,
        "current_review": current,
        # Until a manager records a review for the plan as it stands.
        "needs_review": engagement.is_high_risk_plan and current is None,
        "review_form": review_form,
    }


def action_rows(actions, user, today=None):
    """(action, overdue, may_change) for a list of actions, in the order given; who may
    change which is asked of the actions' gate once for them all."""
    today = today or timezone.localdate()
    actions = list(actions)
    changeable = permitted(Action, user, "change", actions)
    return [(action, action.is_overdue(today), action.pk in changeable) for action in actions]


def permitted(model, user, action, records):
    """The ids of `records` (of `model`) that `user` may `action`, asked of the model's
    gate once for them all."""
    ids = [record.pk for record in records]
    if not ids:
        return set()
    return set(model.objects.restrict(user, action).filter(pk__in=ids).values_list("pk", flat=True))


@require_POST
@permission_required("engagements.add_action", raise_exception=True)
def action_create(request, pk):
    engagement = get_visible_engagement(request, pk)
    form = ActionForm(request.POST, engagement=engagement)
    if not form.is_valid():
        return engagement_detail(request, pk, action_form=form)
    form.instance.created_by = request.user
    try:
        action = save_record(request.user, form.save(commit=False))
    except NotVisible:
        return _gone(request)
    except ValidationError as error:
        form.add_error(None, error)
        return engagement_detail(request, pk, action_form=form)
    messages.success(request, f"Action “{action.title}” added for {action.owner.username}.")
    return redirect(engagement)


@require_POST
@permission_required("engagements.add_review", raise_exception=True)
def review_create(request, pk):
    engagement = get_visible_engagement(request, pk)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        return engagement_detail(request, pk, review_form=form)
    form.instance.engagement, form.instance.by = engagement, request.user
    try:
        review = save_record(request.user, form.save(commit=False))
    except NotVisible:
        return _gone(request)
    messages.success(
        request,
        f"Review of “{engagement.title}” recorded: {review.get_decision_display().lower()}.",
    )
    return _back(request, default=engagement)


def action_list(request):
    """Every visible action, mine first, by due date; a POST changes one's status."""
    visible = Action.objects.restrict(request.user)
    if request.method == "POST":
        return _change_action_status(request, visible)
    filterset = ActionFilter(request.GET, queryset=visible, request=request)
    actions = filterset.qs if filterset.is_valid() else visible.none()
    actions = actions.select_related("engagement", "owner").order_by(
        Case(When(owner=request.user, then=0), default=1), "due", "id"
    )
    page = Paginator(actions, 100).get_page(request.GET.get("page"))
    shown(request, *(action.engagement.marking for action in page))
    return render(
        request,
        "engagements/action_list.html",
        {"filterset": filterset, "page": page, "rows": action_rows(page, request.user)},
    )


def _change_action_status(request, visible):
    action = get_object_or_404(
        visible.select_related("engagement"), pk=_int(request.POST.get("action"))
    )
    status = request.POST.get("status")
    if not action.allows(request.user, "change"):
        raise PermissionDenied("Its owner, its engagement's editors, managers and admins.")
    if status not in ActionStatus.values:
        messages.error(request, "Choose open, done or dropped.")
    else:
        action.status = status
        try:
            save_record(request.user, action)
        except NotVisible:
            return _gone(request)
        except ValidationError as error:
            messages.error(request, "Nothing saved: " + " ".join(error.messages))
        else:
            messages.success(request, f"“{action.title}” is {action.get_status_display().lower()}.")
    return _back(request, default="actions")


@require_POST
@permission_required("engagements.change_engagement", raise_exception=True)
def engagement_bulk(request):
    """The list's bar: the same change to the ticked rows, each its own versioned write
    (engagements.bulk); what happened to each is said above the list. More than
    BULK_JOB_ITEMS rows run as a background job: its page shows progress and outcomes."""
    form = BulkEditForm(request.POST, user=request.user)
    if not form.is_valid():
        problems = [m for messages_ in form.errors.values() for m in messages_]
        messages.error(request, "Nothing was changed: " + " ".join(problems))
        return _back(request, reverse("engagements:list"))
    items = form.items()
    if len(items) > BULK_JOB_ITEMS:
        job = start_bulk_edit(request.user, items, *form.change())
        return redirect("jobs:detail", job.pk)
    results = bulk_edit(request.user, items, *form.change())
    titles = dict(
        Engagement.objects.restrict(request.user)
        .filter(pk__in=[r["id"] for r in results if r["outcome"] != "ok"])
        .values_list("pk", "title")
    )
    for outcome, message in bulk_summary(results, titles):
        getattr(messages, "success" if outcome == "ok" else "warning")(request, message)
    return _back(request, reverse("engagements:list"))


def bulk_summary(results, titles=None):
    """(outcome, sentence) for each outcome that occurred, as the list says them, naming
    those not changed that the reader may see (`titles`: {id: title})."""
    titles = titles or {}
    said = {
        "ok": "{n} changed.",
        "conflict": "{n} changed by someone else since the list was shown, so not changed"
        "{which}: open them to see why.",
        "not_found": "{n} no longer there to change.",
        "invalid": "{n} not changed{which}: {why}",
    }
    by_outcome = {}
    for result in results:
        by_outcome.setdefault(result["outcome"], []).append(result)
    sentences = []
    for outcome, found in by_outcome.items():
        why = "; ".join(
            sorted(
                {
                    m.rstrip(".")
                    for r in found
                    for messages_ in r["errors"].values()
                    for m in messages_
                }
            )
        )
        named = [f"“{titles[r['id']]}”" for r in found if r["id"] in titles]
        which = f" ({', '.join(named)})" if named else ""
        count = f"{len(found)} engagement{'s' if len(found) != 1 else ''}"
        sentence = said[outcome].format(n=count, why=why + "." if why else "", which=which)
        sentences.append((outcome, sentence))
    return sentences


def _back(request, default):
    """To the page a form came from (`next`, on this site only), else to `default`."""
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(default)


# Notes ----------------------------------------------------------------------------------


def note_panel(request, on, form=None):
    """The notes on a record (`on`: {"engagement": …} or {"partner": …}) the reader may
    see, newest first, each with whether the reader may change it, and the form to add
    one; their markings count for the page's banner."""
    user = request.user
    notes = list(Note.objects.restrict(user).filter(**on).select_related("author"))
    changeable = permitted(Note, user, "change", notes)
    shown(request, *(note.marking for note in notes))
    if form is None and user.has_perm("engagements.add_note"):
        form = NoteForm(user=user)
    return {"notes": [(note, note.pk in changeable) for note in notes], "note_form": form}


def note_refused(request, note, form):
    """Store what `form` holds on `note` through the write service: None when stored, else
    the form with the refusal."""
    try:
        save_note(request.user, note, form.cleaned_data)
    except ValidationError as error:
        form.add_error(None, error)
        return form
    return None


def note_home(note):
    return (note.engagement or note.partner).get_absolute_url() + "#notes"


@require_POST
@permission_required("engagements.add_note", raise_exception=True)
def note_create(request, pk):
    engagement = get_visible_engagement(request, pk)
    form = NoteForm(request.POST, user=request.user)
    note = Note(engagement=engagement)
    try:
        refused = note_refused(request, note, form) if form.is_valid() else form
    except NotVisible:
        return _gone(request)
    if refused:
        return engagement_detail(request, pk, note_form=refused)
    messages.success(request, "Note added.")
    return redirect(note_home(note))


def note_edit(request, pk):
    note = get_object_or_404(Note.objects.restrict(request.user, "change"), pk=pk)
    form = NoteForm(request.POST or None, instance=note, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            refused = note_refused(request, note, form)
        except NotVisible:
            return _gone(request)
        if not refused:
            messages.success(request, "Note saved.")
            return redirect(note_home(note))
    shown(request, note.marking)
    return render(
        request,
        "engagements/note_form.html",
        {
            "form": form,
            "note": note,
            "on": note.engagement or note.partner,
            "home": note_home(note),
        },
    )


@require_POST
def note_delete(request, pk):
    note = get_object_or_404(Note.objects.restrict(request.user, "delete"), pk=pk)
    home = note_home(note)
    try:
        delete_note(request.user, note)
    except NotVisible:
        return _gone(request)
    messages.success(request, "Note deleted.")
    return redirect(home)


def search_page(request):
    """The header's search box: partners, engagements and notes, best first."""
    text = request.GET.get("q", "").strip()
    hits, corrected = search(request.user, text) if text else ([], {})
    shown(request, *(hit.marking for hit in hits))
    return render(
        request,
        "engagements/search.html",
        {"q": text, "hits": hits, "corrected": sorted(corrected.items())},
    )


# Attachments ----------------------------------------------------------------------------


def attachment_panel(request, engagement, form=None):
    """The engagement's files the reader may see, each with whether the reader may delete
    it, and the upload form; their markings count for the page's banner."""
    user = request.user
    files = list(
        Attachment.objects.restrict(user)
        .filter(engagement=engagement)
        .select_related("uploaded_by")
    )
    deletable = permitted(Attachment, user, "delete", files)
    shown(request, *(attachment.marking for attachment in files))
    if form is None and user.has_perm("engagements.add_attachment"):
        form = AttachmentForm(user=user)
    return {
        "attachments": [(attachment, attachment.pk in deletable) for attachment in files],
        "attachment_form": form,
    }


@require_POST
@body_limit(settings.ATTACHMENT_MAX_MB * 1024 * 1024 + BODY_ALLOWANCE)
@permission_required("engagements.add_attachment", raise_exception=True)
def attachment_create(request, pk):
    engagement = get_visible_engagement(request, pk)
    form = AttachmentForm(request.POST, request.FILES, user=request.user)
    if form.is_valid():
        try:
            save_attachment(
                request.user,
                engagement.pk,
                form.cleaned_data["file"],
                title=form.cleaned_data["title"],
                marking=form.cleaned_data["marking"],
            )
        except NotVisible:
            return _gone(request)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "File added.")
            return redirect(engagement.get_absolute_url() + "#attachments")
    return engagement_detail(request, pk, attachment_form=form)


@require_POST
def attachment_delete(request, pk):
    attachment = get_object_or_404(Attachment.objects.restrict(request.user, "delete"), pk=pk)
    home = attachment.engagement.get_absolute_url() + "#attachments"
    try:
        delete_attachment(request.user, attachment)
    except NotVisible:
        return _gone(request)
    messages.success(request, "File deleted.")
    return redirect(home)
