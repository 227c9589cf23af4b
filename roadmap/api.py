from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import (
    extend_schema_field,
)
from rest_framework import generics, serializers, viewsets

from accounts.markings import MarkedNoteSerializer
from partners.models import Partner
from roadmap.filters import TargetFilterSet
from roadmap.models import Facet, Pillar, Target, Tip, TipStatusUpdate


class FacetSerializer(serializers.ModelSerializer):
    class Meta:
        model = Facet
        fields = ["code", "name"]


class PillarSerializer(serializers.ModelSerializer):
    facets = FacetSerializer(many=True, read_only=True)

    class Meta:
        model = Pillar
        fields = ["code", "name", "order", "facets"]


class PillarViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Pillar.objects.order_by("order").prefetch_related("facets")
    serializer_class = PillarSerializer
    pagination_class = None
    lookup_field = "code"


class StatusSerializer(MarkedNoteSerializer):
    """A status update; its note and `note_marking` are null for a reader not cleared to
    the note (withheld)."""

    date = serializers.DateTimeField(source="created_at", read_only=True)
    by = serializers.SlugRelatedField(source="created_by", slug_field="username", read_only=True)

    class Meta:
        model = TipStatusUpdate
        fields = ["status", "note", "note_marking", "date", "by"]


class TipSerializer(serializers.ModelSerializer):
    pillars = serializers.SlugRelatedField(many=True, slug_field="code", read_only=True)
    status = serializers.SerializerMethodField()

    class Meta:
        model = Tip
        fields = ["number", "code", "title", "pillars", "status"]

    @extend_schema_field(StatusSerializer(allow_null=True))
    def get_status(self, tip):
        """The newest update, or null: the tip is then `not_started`."""
        newest = tip.updates[0] if tip.updates else None
        return StatusSerializer(newest, context=self.context).data if newest else None


class TipViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Tip.objects.order_by("number").prefetch_related(
        "pillars",
        Prefetch(
            "status_updates",
            queryset=TipStatusUpdate.objects.select_related("created_by").order_by(
                "-created_at", "-id"
            ),
            to_attr="updates",
        ),
    )
    serializer_class = TipSerializer
    pagination_class = None
    lookup_field = "number"
    lookup_value_regex = "[0-9]+"


class TipStatusView(generics.ListCreateAPIView):
    """A tip's status history, newest first; managers and admins post a new status."""

    serializer_class = StatusSerializer
    queryset = TipStatusUpdate.objects.none()  # for the schema; see get_queryset
    write_permissions = {"POST": "roadmap.add_tipstatusupdate"}

    def get_tip(self):
        return get_object_or_404(Tip, number=self.kwargs["number"])

    def get_queryset(self):
        return (
            TipStatusUpdate.objects.filter(tip=self.get_tip())
            .select_related("created_by")
            .order_by("-created_at", "-id")
        )

    def perform_create(self, serializer):
        serializer.save(tip=self.get_tip(), created_by=self.request.user)


# Engagement plan ---------------------------------------------------------------------


class TargetSerializer(MarkedNoteSerializer):
    """Partner and pillar by code. The rules (minimum ≥ 1, months 1–36, one active target
    per partner and pillar) are the model's, checked with `full_clean()` as the forms do;
    the note's are `MarkedNoteSerializer`'s (null above the reader's clearance)."""

    partner = serializers.SlugRelatedField(slug_field="code", queryset=Partner.objects.all())
    pillar = serializers.SlugRelatedField(slug_field="code", queryset=Pillar.objects.all())

    class Meta:
        model = Target
        fields = ["id", "partner", "pillar", "minimum", "months", "note", "note_marking", "active"]
        # The model checks the one-active rule (and names the field).
        validators = []

    def validate(self, attrs):
        attrs = super().validate(attrs)  # the note's rules, before `attrs` touch the target
        target = self.instance or Target()
        for name, value in attrs.items():
            setattr(target, name, value)
        try:
            target.full_clean(exclude=["created_by"])
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict) from None
        return attrs

    def save(self, **kwargs):
        try:
            with transaction.atomic():
                return super().save(**kwargs)
        except IntegrityError:  # a concurrent writer set the same target first
            raise serializers.ValidationError(
                {"pillar": ["This partner already has an active target in this pillar."]}
            ) from None


class TargetViewSet(viewsets.ModelViewSet):
    """Targets; anyone with a role reads, managers and admins write."""

    queryset = Target.objects.select_related("partner", "pillar").order_by(
        "partner__code", "pillar__order", "id"
    )
    serializer_class = TargetSerializer
    filterset_class = TargetFilterSet
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    write_permissions = {
        "POST": "roadmap.add_target",
        "PATCH": "roadmap.change_target",
        "DELETE": "roadmap.delete_target",
    }

    def perform_create(self, serializer):
        serializer.save(created_by=self.request.user)
