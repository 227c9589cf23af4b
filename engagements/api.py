from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import exceptions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from config.api import KeysetPagination
from engagements.exports import EXPORT_FIELDS, with_relations
from engagements.filters import EngagementFilterSet
from engagements.history import engagement_history
from engagements.models import Engagement
from partners.models import Partner
from roadmap.models import Facet, Pillar, Tip


class CodeField(serializers.SlugRelatedField):
    """An object by its code; a code with a NUL character is unknown (PostgreSQL would
    refuse to even look it up)."""

    def to_internal_value(self, data):
        if "\x00" in str(data):
            self.fail("does_not_exist", slug_name=self.slug_field, value=data)
        return super().to_internal_value(data)


class LinkedPartners(serializers.ManyRelatedField):
    """Partner codes read from the prefetched links, lead first (no query per row)."""

    def get_attribute(self, engagement):
        return [link.partner for link in engagement.partner_links.all()]


class EngagementSerializer(serializers.ModelSerializer):
    """Partners, pillars and facets by code, tips by number. The rules are the model's
    own (the same as the HTML form's): `clean()`, constraints, `validate_relations`,
    `validate_marking`."""

    partners = LinkedPartners(
        child_relation=CodeField(slug_field="code", queryset=Partner.objects.all()),
        allow_empty=False,
    )
    pillars = CodeField(
        many=True, slug_field="code", queryset=Pillar.objects.all(), allow_empty=False
    )
    facets = CodeField(many=True, slug_field="code", queryset=Facet.objects.all(), required=False)
    tips = serializers.SlugRelatedField(
        many=True, slug_field="number", queryset=Tip.objects.all(), required=False
    )
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    version = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="On PUT and PATCH: the version you read (or send If-Match). Read-only otherwise.",
    )

    class Meta:
        model = Engagement
        fields = EXPORT_FIELDS  # the contract's names, shared with the downloads
        read_only_fields = ["id", "created_by", "created_at", "updated_at"]

    def validate(self, attrs):
        # The API passes the request; the importer passes the user it imports as.
        user = self.context.get("user") or self.context["request"].user
        instance = self.instance
        if instance is not None and attrs.get("version") is None:
            raise serializers.ValidationError(
                {"version": ["Send the version you read (or an If-Match header)."]}
            )

        def current(name, many=False):
            if name in attrs:
                return attrs[name]
            if instance is None:
                return [] if many else None
            return list(getattr(instance, name).all()) if many else getattr(instance, name)

        errors = {}

        def collect(check, *args):
            try:
                check(*args)
            except DjangoValidationError as error:
                for field, messages in error.message_dict.items():
                    errors.setdefault(field, []).extend(messages)

        collect(
            Engagement.validate_relations,
            current("partners", True),
            current("pillars", True),
            current("facets", True),
        )
        if "marking" in attrs or instance is None:
            collect(Engagement.validate_marking, user, attrs.get("marking", "NU"))
        scalars = {k: v for k, v in attrs.items() if k not in self.RELATIONS and k != "version"}
        candidate = Engagement(**{**self._scalars(instance), **scalars})
        collect(candidate.full_clean, ["created_by"], False)
        if errors:
            raise serializers.ValidationError(errors)
        return attrs

    RELATIONS = ("partners", "pillars", "facets", "tips")

    @staticmethod
    def _scalars(instance):
        if instance is None:
            return {}
        return {
            field.attname: getattr(instance, field.attname)
            for field in Engagement._meta.concrete_fields
        }

    @transaction.atomic
    def create(self, validated_data):
        relations = {name: validated_data.pop(name, None) for name in self.RELATIONS}
        validated_data.pop("version", None)
        engagement = Engagement(**validated_data)
        if validated_data.get("created_by"):
            engagement._history_user = validated_data["created_by"]  # also outside a request
        engagement.save()
        self._save_relations(engagement, relations)
        return engagement

    @transaction.atomic
    def update(self, engagement, validated_data):
        relations = {name: validated_data.pop(name, None) for name in self.RELATIONS}
        for name, value in validated_data.items():
            setattr(engagement, name, value)
        engagement.save()  # raises StaleVersion (409) unless `version` is the newest
        self._save_relations(engagement, relations)
        return engagement

    @staticmethod
    def _save_relations(engagement, relations):
        if relations["partners"] is not None:
            engagement.set_partners(relations["partners"], engagement.partner_roles())
        for name in ("pillars", "facets", "tips"):
            if relations[name] is not None:
                getattr(engagement, name).set(relations[name])
        engagement.record_relations()


HISTORY = inline_serializer(
    "EngagementChange",
    {
        "at": serializers.DateTimeField(),
        "by": serializers.CharField(allow_null=True),
        "action": serializers.ChoiceField(["created", "changed", "deleted"]),
        "changes": serializers.DictField(
            child=serializers.ListField(child=serializers.JSONField(), min_length=2, max_length=2)
        ),
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
class EngagementViewSet(viewsets.ModelViewSet):
    """Engagements visible to the caller; anything above its clearance is a 404."""

    serializer_class = EngagementSerializer
    filterset_class = EngagementFilterSet
    pagination_class = KeysetPagination
    write_permissions = {
        "POST": "engagements.add_engagement",
        "PUT": "engagements.change_engagement",
        "PATCH": "engagements.change_engagement",
        "DELETE": None,  # checked per object: analysts delete only their own
    }

    def get_queryset(self):
        return with_relations(Engagement.objects.visible_to(self.request.user))

    def get_serializer(self, *args, **kwargs):
        # An If-Match: "<version>" header stands in for a version in the body.
        match = self.request.headers.get("If-Match", "").strip('W/"')
        if "data" in kwargs and match.isdigit() and "version" not in kwargs["data"]:
            kwargs["data"] = {**kwargs["data"], "version": int(match)}
        return super().get_serializer(*args, **kwargs)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if isinstance(response.data, dict) and "version" in response.data and "id" in response.data:
            response["ETag"] = f'"{response.data["version"]}"'
        return response

    @extend_schema(responses=HISTORY, filters=False)
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def history(self, request, pk=None, format=None):
        """Every change, newest first (see CONTRACT.md)."""
        return Response(engagement_history(self.get_object().pk))

    def perform_create(self, serializer):
        serializer.save(created_by=self.request.user)

    def perform_destroy(self, engagement):
        if not engagement.can_be_deleted_by(self.request.user):
            raise exceptions.PermissionDenied(
                "Analysts may delete only the engagements they logged."
            )
        engagement.delete()
