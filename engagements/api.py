from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import exceptions, generics, mixins, serializers, views, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from accounts import audit
from accounts.choices import Marking
from core.api import VERSION_MISSING, KeysetPagination, VersionedMixin
from engagements.bulk import BULK_JOB_ITEMS, bulk_edit
from engagements.choices import EngagementKind, EngagementStatus, EscalationRisk
from engagements.exports import EXPORT_FIELDS, with_relations
from engagements.filters import SORTABLE, ActionFilter, EngagementFilterSet
from engagements.history import engagement_history
from engagements.models import Action, Attachment, Engagement, Note, Review
from engagements.search import search
from engagements.services import (
    delete_engagement,
    delete_note,
    delete_record,
    save_attachment,
    save_engagement,
    save_note,
    save_record,
)
from engagements.tasks import start_bulk_edit
from engagements.timeline import timeline
from partners.models import Partner
from people.models import Person
from roadmap.models import Facet, Pillar, Tip


class CodeListField(serializers.ListField):
    """Related objects as a list of codes (or numbers), looked up in one query.

    An unknown code, a code listed twice or a list longer than `max_length` is a 400
    naming the field; the list is read from prefetched rows (no query per engagement).
    """

    def __init__(self, *, queryset, slug_field, **kwargs):
        kwargs.setdefault("max_length", 100)
        super().__init__(**kwargs)
        self.queryset, self.slug_field = queryset, slug_field

    def _look_up(self, values):
        """{value: object} for the values that name one. A caller validating many rows with
        one serializer (the importer) passes `known` ({} in the context): each field then
        reads its table once, not once a row."""
        known = self.context.get("known")
        if known is None:
            return self.queryset.in_bulk(values, field_name=self.slug_field)
        if self.field_name not in known:
            known[self.field_name] = {
                getattr(obj, self.slug_field): obj for obj in self.queryset.all()
            }
        table = known[self.field_name]
        return {value: table[value] for value in values if value in table}

    def get_attribute(self, engagement):
        if self.field_name == "partners":  # lead first, in the order given
            return [link.partner for link in engagement.partner_links.all()]
        return list(getattr(engagement, self.field_name).all())

    def to_representation(self, objects):
        return [getattr(obj, self.slug_field) for obj in objects]

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        repeated = sorted({str(value) for value in values if values.count(value) > 1})
        if repeated:
            raise serializers.ValidationError([f"“{value}” is listed twice." for value in repeated])
        found = self._look_up(values)
        unknown = [value for value in values if value not in found]
        if unknown:
            noun = self.queryset.model._meta.verbose_name
            raise serializers.ValidationError(
                [f"No {noun} with {self.slug_field} “{value}”." for value in unknown]
            )
        return [found[value] for value in values]


def relation_field(name, **options):
    """An engagement's relation as the API takes it: partners, pillars and facets by code,
    tips by number."""
    queryset, slug_field, child = {
        "partners": (Partner.objects.all(), "code", serializers.CharField(max_length=20)),
        "pillars": (Pillar.objects.all(), "code", serializers.CharField(max_length=40)),
        "facets": (Facet.objects.all(), "code", serializers.CharField(max_length=80)),
        "tips": (
            Tip.objects.all(),
            "number",
            serializers.IntegerField(min_value=1, max_value=32767),
        ),
    }[name]
    return CodeListField(queryset=queryset, slug_field=slug_field, child=child, **options)


class PeopleField(serializers.ListField):
    """Who took part, by id: read, only the people the reader may see (prefetched by the
    viewset as `visible_people`); written, each must be one the writer may see."""

    child = serializers.IntegerField(min_value=1, max_value=2**63 - 1)

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 100)
        super().__init__(**kwargs)

    @property
    def user(self):
        return self.context.get("user") or self.context["request"].user

    def get_attribute(self, engagement):
        if hasattr(engagement, "visible_people"):
            return engagement.visible_people
        return list(engagement.people.restrict(self.user))

    def to_representation(self, people):
        return [person.pk for person in people]

    def to_internal_value(self, data):
        ids = super().to_internal_value(data)
        repeated = sorted({value for value in ids if ids.count(value) > 1})
        if repeated:
            raise serializers.ValidationError([f"“{value}” is listed twice." for value in repeated])
        found = Person.objects.restrict(self.user).in_bulk(ids)
        unknown = [value for value in ids if value not in found]
        if unknown:
            raise serializers.ValidationError([f"No person with id {value}." for value in unknown])
        return [found[value] for value in ids]


class EngagementSerializer(serializers.ModelSerializer):
    """Partners, pillars and facets by code, tips by number. Input is only parsed here:
    the rules and the write are `engagements.services.save_engagement`'s, the same for the
    form, the admin, the importer and restore."""

    partners = relation_field("partners", allow_empty=False)
    pillars = relation_field("pillars", allow_empty=False)
    facets = relation_field("facets", required=False)
    tips = relation_field("tips", required=False)
    people = PeopleField(required=False, help_text="Who took part: ids of people.")
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    version = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=2**31 - 1,
        help_text="On PUT and PATCH: the version you read (or send If-Match). Read-only otherwise.",
    )

    review = serializers.SerializerMethodField(
        help_text="The newest escalation review's decision, or null: none since the plan "
        "(risk, start date, partners, kind) last changed."
    )

    class Meta:
        model = Engagement
        # The contract's names, shared with the downloads; then what only the API shows.
        fields = [*EXPORT_FIELDS, "people", "review"]
        read_only_fields = ["id", "created_by", "created_at", "updated_at"]

    def get_review(self, engagement) -> str | None:
        if hasattr(engagement, "review"):  # annotated by the viewset: no query per row
            return engagement.review
        newest = engagement.reviews.current().order_by("-at", "-id").first()
        return newest.decision if newest else None

    def validate(self, attrs):
        if self.instance is not None and attrs.get("version") is None:
            raise serializers.ValidationError({"version": [VERSION_MISSING]})
        return attrs

    @property
    def writer(self):
        # The API passes the request; the importer passes the user it imports as.
        return self.context.get("user") or self.context["request"].user

    def create(self, validated_data):
        validated_data.pop("version", None)
        return save_engagement(self.writer, validated_data)

    def update(self, engagement, validated_data):
        version = validated_data.pop("version")
        return save_engagement(self.writer, validated_data, engagement.pk, version)


BULK_MAX_ITEMS = 5000  # in one request (more than BULK_JOB_ITEMS run as a job)


class RelationChanges(serializers.Serializer):
    """Partners, pillars and facets by code, tips by number, as on an engagement."""

    partners = relation_field("partners", required=False, allow_empty=False)
    pillars = relation_field("pillars", required=False, allow_empty=False)
    facets = relation_field("facets", required=False, allow_empty=False)
    tips = relation_field("tips", required=False, allow_empty=False)


class BulkItemSerializer(serializers.Serializer):
    id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    version = serializers.IntegerField(min_value=1, max_value=2**31 - 1)


class BulkSetSerializer(serializers.Serializer):
    status = serializers.ChoiceField(EngagementStatus.choices, required=False)
    escalation_risk = serializers.ChoiceField(EscalationRisk.choices, required=False)
    kind = serializers.ChoiceField(EngagementKind.choices, required=False)
    marking = serializers.ChoiceField(Marking.choices, required=False, help_text="Only raised.")


class BulkSerializer(serializers.Serializer):
    """`{items: [{id, version}], set: {field: value}, add: {...}, remove: {...}}`."""

    items = BulkItemSerializer(many=True, allow_empty=False, max_length=BULK_MAX_ITEMS)
    set = BulkSetSerializer(required=False)
    add = RelationChanges(required=False)
    remove = RelationChanges(required=False)

    def validate(self, attrs):
        if not any(attrs.get(name) for name in ("set", "add", "remove")):
            raise serializers.ValidationError("Nothing to change: send `set`, `add` or `remove`.")
        ids = [item["id"] for item in attrs["items"]]
        if len(set(ids)) != len(ids):
            raise serializers.ValidationError({"items": ["An engagement is listed twice."]})
        return attrs


BULK_RESULTS = inline_serializer(
    "BulkResults",
    {
        "results": inline_serializer(
            "BulkResult",
            {
                "id": serializers.IntegerField(),
                "outcome": serializers.ChoiceField(["ok", "conflict", "not_found", "invalid"]),
                "version": serializers.IntegerField(allow_null=True),
                "errors": serializers.DictField(child=serializers.ListField()),
            },
            many=True,
        )
    },
)


HISTORY = inline_serializer(
    "EngagementChange",
    {
        "at": serializers.DateTimeField(),
        "by": serializers.CharField(allow_null=True),
        "action": serializers.ChoiceField(["created", "changed", "deleted"]),
        "changes": serializers.DictField(
            child=serializers.ListField(child=serializers.JSONField(), min_length=2, max_length=2)
        ),
        "redacted": serializers.BooleanField(),
    },
    many=True,
)


@extend_schema_view(
    update=extend_schema(
        parameters=[OpenApiParameter("If-Match", str, OpenApiParameter.HEADER, required=False)]
    ),
    partial_update=extend_schema(
        parameters=[OpenApiParameter("If-Match", str, OpenApiParameter.HEADER, required=False)]
    ),
)
class EngagementViewSet(VersionedMixin, viewsets.ModelViewSet):
    """Engagements visible to the caller; anything above its clearance is a 404."""

    serializer_class = EngagementSerializer
    filterset_class = EngagementFilterSet
    pagination_class = KeysetPagination
    sortable, default_ordering = SORTABLE, "-start_date"
    write_permissions = {
        "POST": "engagements.add_engagement",
        "PUT": "engagements.change_engagement",
        "PATCH": "engagements.change_engagement",
        "DELETE": None,  # checked per object: analysts delete only their own
    }

    def get_queryset(self):
        user = self.request.user
        return (
            with_relations(Engagement.objects.restrict(user))
            .prefetch_related(
                Prefetch("people", queryset=Person.objects.restrict(user), to_attr="visible_people")
            )
            .annotate(review=Review.objects.newest_decision())
        )

    @extend_schema(
        request=BulkSerializer,
        responses={
            200: BULK_RESULTS,
            202: inline_serializer("BulkJob", {"job": serializers.IntegerField()}),
        },
        filters=False,
    )
    @action(detail=False, methods=["post"], pagination_class=None, filterset_class=None)
    def bulk(self, request, format=None):
        """The same change to several engagements, each its own versioned write (see
        engagements/bulk.py): a result per item. More than 200 items: 202 and the `job`
        whose result holds them."""
        sent = BulkSerializer(data=request.data)
        sent.is_valid(raise_exception=True)
        data = sent.validated_data
        items = [(item["id"], item["version"]) for item in data["items"]]
        change = (
            dict(data.get("set", {})),
            dict(data.get("add", {})),
            dict(data.get("remove", {})),
        )
        if len(items) > BULK_JOB_ITEMS:
            job = start_bulk_edit(request.user, items, *change)
            return Response({"job": job.pk}, status=202)
        return Response({"results": bulk_edit(request.user, items, *change)})

    @extend_schema(responses=HISTORY, filters=False)
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def history(self, request, pk=None, format=None):
        """Every change, newest first (see CONTRACT.md)."""
        engagement = self.get_object()
        audit.read(request, engagement, "history")
        return Response(engagement_history(engagement.pk, request.user))

    def retrieve(self, request, *args, **kwargs):
        engagement = self.get_object()
        audit.read(request, engagement, "api")
        return Response(self.get_serializer(engagement).data)

    @extend_schema(
        parameters=[
            OpenApiParameter("If-Match", str, OpenApiParameter.HEADER, required=False),
            OpenApiParameter("version", int, required=False, description="or send If-Match"),
        ]
    )
    def destroy(self, request, *args, **kwargs):
        """Delete the engagement at the version you read (`version` or If-Match); a stale
        version is 409 and nothing is deleted."""
        engagement = self.get_object()
        if not engagement.allows(request.user, "delete"):  # before asking for a version
            raise exceptions.PermissionDenied("Analysts may delete only engagements they logged.")
        version = self.version_sent(request)
        delete_engagement(request.user, engagement.pk, version)
        return Response(status=204)


# Follow-up actions and escalation reviews --------------------------------------------


class ActionSerializer(serializers.ModelSerializer):
    """The owner by username; the rules (the owner must see the engagement) are the
    model's, checked with `full_clean()` as the forms do."""

    owner = serializers.SlugRelatedField(
        slug_field="username", queryset=get_user_model().objects.filter(is_active=True)
    )
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Action
        fields = ["id", "engagement", "title", "owner", "due", "status", "done_at", "created_by"]
        read_only_fields = ["id", "engagement", "done_at", "created_by"]

    def validate(self, attrs):
        action = self.instance or Action(engagement=self.context["engagement"])
        for name, value in attrs.items():
            setattr(action, name, value)
        try:
            action.full_clean(exclude=["created_by"])
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict) from None
        return attrs

    # Stored by the write service, under the claim on the engagement.
    def create(self, validated_data):
        return save_record(self.context["request"].user, Action(**validated_data))

    def update(self, action, validated_data):
        for name, value in validated_data.items():
            setattr(action, name, value)
        return save_record(self.context["request"].user, action)


class OfEngagement:
    """For lists under `engagements/{pk}/`: the engagement through the one gate, or 404."""

    def get_engagement(self):
        return get_object_or_404(
            Engagement.objects.restrict(self.request.user), pk=self.kwargs["pk"]
        )


class EngagementActionsView(OfEngagement, generics.ListCreateAPIView):
    """An engagement's actions (due first); analysts, managers and admins add one."""

    serializer_class = ActionSerializer
    pagination_class = None
    queryset = Action.objects.none()  # for the schema; see get_queryset
    write_permissions = {"POST": "engagements.add_action"}

    def get_queryset(self):
        return (
            Action.objects.restrict(self.request.user)
            .filter(engagement=self.get_engagement())
            .select_related("owner", "created_by")
            .order_by("due", "id")
        )

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if self.request.method == "POST":
            context["engagement"] = self.get_engagement()
        return context

    def perform_create(self, serializer):
        serializer.save(engagement=serializer.context["engagement"], created_by=self.request.user)


class ActionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Every action visible to the caller (exactly those of the engagements it sees),
    by due date, then id."""

    serializer_class = ActionSerializer
    filterset_class = ActionFilter
    http_method_names = ["get", "patch", "delete", "head", "options"]
    write_permissions = {"PATCH": None, "DELETE": None}  # checked per action, below

    def get_queryset(self):
        return (
            Action.objects.restrict(self.request.user)
            .select_related("owner", "created_by", "engagement")
            .order_by("due", "id")
        )

    def check_object_permissions(self, request, action):
        """Who may change or delete this action, decided before its input is read (DRF
        calls this from get_object(), ahead of validation): one who may not gets 403,
        never a 400 about what it sent."""
        super().check_object_permissions(request, action)
        if request.method == "PATCH" and not action.allows(request.user, "change"):
            raise exceptions.PermissionDenied(
                "Its owner, its engagement's editors, managers and admins change an action."
            )
        if request.method == "DELETE" and not action.allows(request.user, "delete"):
            raise exceptions.PermissionDenied(
                "Managers and admins delete actions; analysts those they created."
            )

    def perform_destroy(self, action):
        delete_record(self.request.user, action)


class ReviewSerializer(serializers.ModelSerializer):
    by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Review
        fields = ["decision", "note", "by", "at", "current"]
        read_only_fields = ["by", "at", "current"]

    def create(self, validated_data):  # under the claim on the engagement
        return save_record(self.context["request"].user, Review(**validated_data))


class EngagementReviewsView(OfEngagement, generics.ListCreateAPIView):
    """An engagement's escalation reviews, newest first (`current`: false once the plan
    they judged has changed); managers and admins record one."""

    serializer_class = ReviewSerializer
    pagination_class = None
    queryset = Review.objects.none()  # for the schema; see get_queryset
    write_permissions = {"POST": "engagements.add_review"}

    def get_queryset(self):
        return (
            Review.objects.restrict(self.request.user)
            .filter(engagement=self.get_engagement())
            .select_related("by")
            .order_by("-at", "-id")
        )

    def perform_create(self, serializer):
        serializer.save(engagement=self.get_engagement(), by=self.request.user)


class NoteSerializer(serializers.ModelSerializer):
    """A note as the contract has it; written through the write service (`save_note`)."""

    author = serializers.SlugRelatedField(slug_field="username", read_only=True)
    marking = serializers.ChoiceField(choices=Marking.choices, default=Marking.NU)

    class Meta:
        model = Note
        fields = ["id", "body", "marking", "author", "at", "edited_at"]
        read_only_fields = ["id", "author", "at", "edited_at"]

    def create(self, validated_data):
        note = Note(**self.context["on"], **validated_data)
        return self._saved(note, validated_data)

    def update(self, note, validated_data):
        return self._saved(note, validated_data)

    def _saved(self, note, data):
        try:
            return save_note(self.context["request"].user, note, data)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict) from None


class NotesOf(generics.ListCreateAPIView):
    """The notes on one record the caller may see (newest first); every role writes one.
    A concrete list says which record (`on()`: {"engagement": …} or {"partner": …})."""

    serializer_class = NoteSerializer
    pagination_class = None
    queryset = Note.objects.none()  # for the schema; see get_queryset
    write_permissions = {"POST": "engagements.add_note"}

    def on(self):
        raise NotImplementedError

    def get_queryset(self):
        return (
            Note.objects.restrict(self.request.user)
            .filter(**self.on())
            .select_related("author")
            .order_by("-at", "-id")
        )

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if self.request.method == "POST":
            context["on"] = self.on()
        return context


class EngagementNotesView(OfEngagement, NotesOf):
    def on(self):
        return {"engagement": self.get_engagement()}


class PartnerNotesView(NotesOf):
    def on(self):
        return {"partner": get_object_or_404(Partner, code__iexact=self.kwargs["code"])}


class NoteViewSet(
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """One note: read by whoever may see it; changed or deleted by its author, a manager
    or an admin (403 for others who see it, decided before its input is read)."""

    serializer_class = NoteSerializer
    http_method_names = ["get", "patch", "delete", "head", "options"]
    write_permissions = {"PATCH": None, "DELETE": None}  # checked per note, below

    def get_queryset(self):
        return Note.objects.restrict(self.request.user).select_related("author")

    def check_object_permissions(self, request, note):
        super().check_object_permissions(request, note)
        if request.method in ("PATCH", "DELETE") and not note.allows(request.user, "change"):
            raise exceptions.PermissionDenied("Its author, managers and admins change a note.")

    def perform_destroy(self, note):
        delete_note(self.request.user, note)


class SearchView(views.APIView):
    """`q`: partners, engagements and notes that match every word, as the caller may see
    them, best first (engagements/search.py; a word found nowhere is taken for a typo)."""

    @extend_schema(
        parameters=[OpenApiParameter("q", str, description="what to look for")],
        responses=inline_serializer(
            "SearchHit",
            {
                "kind": serializers.CharField(),
                # A partner's code, or the id of an engagement or note.
                "id": serializers.JSONField(),
                "title": serializers.CharField(),
                "snippet": serializers.CharField(),
                "url": serializers.CharField(),
            },
            many=True,
        ),
    )
    def get(self, request):
        hits, _ = search(request.user, request.query_params.get("q", ""))
        return Response([hit.as_dict() for hit in hits])


class PartnerTimelineView(views.APIView):
    """A partner's timeline (engagements/timeline.py) as the caller may see it, newest
    first, a page at a time: `{next, previous, results}`, `next` carrying the cursor."""

    @extend_schema(
        parameters=[OpenApiParameter("cursor", str, description="from `next`")],
        responses=inline_serializer(
            "TimelinePage",
            {
                "next": serializers.CharField(allow_null=True),
                "previous": serializers.CharField(allow_null=True),
                "results": inline_serializer(
                    "TimelineItem",
                    {
                        "at": serializers.DateTimeField(),
                        "kind": serializers.CharField(),
                        "id": serializers.IntegerField(),
                        "title": serializers.CharField(),
                        "marking": serializers.CharField(),
                    },
                    many=True,
                ),
            },
        ),
    )
    def get(self, request, code):
        partner = get_object_or_404(Partner, code__iexact=code)
        try:
            items, cursor = timeline(request.user, partner, request.query_params.get("cursor"))
        except DjangoValidationError as error:
            raise serializers.ValidationError({"cursor": error.messages}) from None
        following = (
            replace_query_param(request.build_absolute_uri(), "cursor", cursor) if cursor else None
        )
        return Response(
            {
                "next": following,
                "previous": None,
                "results": [item.as_dict() for item in items],
            }
        )


class AttachmentSerializer(serializers.ModelSerializer):
    """A file on an engagement as the contract has it; `file` is written only (multipart),
    `download` is where to fetch it through the gate."""

    file = serializers.FileField(write_only=True)
    marking = serializers.ChoiceField(choices=Marking.choices, default=Marking.NU)
    uploaded_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    download = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = [
            "id",
            "title",
            "filename",
            "size",
            "content_type",
            "marking",
            "uploaded_by",
            "at",
            "download",
            "file",
        ]
        read_only_fields = ["id", "filename", "size", "content_type", "uploaded_by", "at"]

    def get_download(self, attachment) -> str:
        return reverse("api:attachment-download", args=[attachment.pk])

    def create(self, validated_data):
        try:
            return save_attachment(
                self.context["request"].user,
                self.context["engagement"].pk,
                validated_data["file"],
                title=validated_data.get("title", ""),
                marking=validated_data["marking"],
            )
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict) from None


class EngagementAttachmentsView(OfEngagement, generics.ListCreateAPIView):
    """An engagement's files the caller may see (newest first); every role uploads one
    (multipart: file, title, marking), up to DJANGO_ATTACHMENT_MAX_MB."""

    serializer_class = AttachmentSerializer
    pagination_class = None
    queryset = Attachment.objects.none()  # for the schema; see get_queryset
    write_permissions = {"POST": "engagements.add_attachment"}

    def get_queryset(self):
        return (
            Attachment.objects.restrict(self.request.user)
            .filter(engagement=self.get_engagement())
            .select_related("uploaded_by")
        )

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if self.request.method == "POST":
            context["engagement"] = self.get_engagement()
        return context


class AttachmentDownloadView(views.APIView):
    """The file, through the gate (404 for whoever may not see it), always as an
    attachment named with its marking; recorded in the audit trail."""

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    def get(self, request, pk):
        attachment = get_object_or_404(Attachment.objects.restrict(request.user), pk=pk)
        response = FileResponse(
            attachment.file.open("rb"),
            as_attachment=True,
            filename=attachment.download_name(),
            content_type=attachment.content_type,
        )
        audit.download(
            request._request,
            "attachment",
            attachment.marking,
            1,
            "file",
            filters=f"attachment={attachment.pk}",
        )
        return response
