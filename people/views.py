from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render

from accounts import audit
from accounts.choices import Marking
from accounts.markings import marked_download, shown
from core.downloads import DOWNLOAD_FORMATS
from core.errors import StaleVersion
from core.forms import whole_number
from core.pagination import paginate
from engagements.models import Engagement
from engagements.tables import table_rows
from people.api import with_affiliations
from people.filters import PersonFilterSet
from people.forms import AffiliationFormSet, PersonForm, affiliations_of
from people.importer import COLUMNS, export_rows
from people.models import Person
from people.services import NotVisible, delete_person, save_person

PER_PAGE = 50


def person_list(request):
    visible = Person.objects.restrict(request.user)
    filterset = PersonFilterSet(request.GET, queryset=visible)
    people = filterset.qs if filterset.is_valid() else visible.none()
    if request.GET.get("format") in DOWNLOAD_FORMATS:
        return marked_download(
            request,
            "people",
            COLUMNS,
            export_rows(with_affiliations(people).order_by("name", "id")),
            Marking.highest(people.values_list("marking", flat=True).distinct()),
        )
    page = Paginator(people.select_related("partner").order_by("name", "id"), PER_PAGE).get_page(
        request.GET.get("page")
    )
    shown(request, *(person.marking for person in page))
    return render(request, "people/person_list.html", {"filterset": filterset, "page": page})


def visible_person(request, pk, action="view"):
    """The person through the one gate, or a 404 (absent or above the reader alike)."""
    people = Person.objects.restrict(request.user, action)
    return get_object_or_404(with_affiliations(people), pk=pk)


def person_detail(request, pk):
    person = visible_person(request, pk)
    took_part = Engagement.objects.restrict(request.user).filter(people=person)
    try:
        page = paginate(took_part, ["-start_date", "-id"], 25, request.GET.get("cursor"))
    except ValidationError:
        page = paginate(took_part, ["-start_date", "-id"], 25)
    shown(request, person.marking, *(engagement.marking for engagement in page))
    audit.read(request, person, "page")
    changes = person.history.select_related("history_user").order_by("-history_date")[:20]
    return render(
        request,
        "people/person_detail.html",
        {
            "person": person,
            "page": page,
            "rows": table_rows(page),
            "changes": changes,
            "may_change": request.user.has_perm("people.change_person"),
            "may_delete": person.allows(request.user, "delete"),
        },
    )


@permission_required("people.add_person", raise_exception=True)
def person_create(request):
    return _edit(request, Person())


@permission_required("people.change_person", raise_exception=True)
def person_edit(request, pk):
    return _edit(request, visible_person(request, pk, "change"))


def _edit(request, person):
    form = PersonForm(request.POST or None, instance=person, user=request.user)
    formset = AffiliationFormSet(request.POST or None, instance=person, prefix="affiliations")
    form.summarize_with(formset, "Role")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        data = {name: form.cleaned_data[name] for name in PersonForm.Meta.fields}
        data["affiliations"] = affiliations_of(formset)
        try:
            saved = save_person(request.user, data, person.pk, form.cleaned_data.get("version"))
        except StaleVersion:
            form.add_error(
                None,
                "Someone else changed this person since you opened the form: open it again "
                "to see their changes, then make yours.",
            )
        except NotVisible:
            raise Http404 from None
        except ValidationError as error:
            for field, problems in error.message_dict.items():
                form.add_error(field if field in form.fields else None, problems)
        else:
            messages.success(request, f"{saved.name} saved.")
            return redirect(saved)
    shown(request, person.marking if person.pk else None)
    return render(
        request, "people/person_form.html", {"form": form, "formset": formset, "person": person}
    )


def person_delete(request, pk):
    """Asks first (GET), then deletes (POST) from the version the question showed."""
    person = visible_person(request, pk)
    if not person.allows(request.user, "delete"):
        raise PermissionDenied("Analysts may delete only the people they entered.")
    if request.method != "POST":
        shown(request, person.marking)
        took_part = Engagement.objects.restrict(request.user).filter(people=person).count()
        return render(
            request, "people/person_confirm_delete.html", {"person": person, "took_part": took_part}
        )
    try:
        delete_person(request.user, person.pk, whole_number(request.POST.get("version")) or 0)
    except NotVisible:
        raise Http404 from None
    except StaleVersion:
        messages.error(request, "Someone else changed this person meanwhile: look again first.")
        return redirect(person)
    messages.success(request, f"{person.name} deleted.")
    return redirect("people:list")
