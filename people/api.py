from django.db.models import Prefetch
from rest_framework import exceptions, serializers, viewsets
from rest_framework.response import Response

from accounts import audit
from core.api import VERSION_MISSING, VersionedMixin
from partners.models import Partner
from people.filters import PersonFilterSet
from people.models import Affiliation, Person
from people.services import delete_person, save_person

NO_PARTNER = {"does_not_exist": "No partner with code “{value}”."}


class AffiliationSerializer(serializers.ModelSerializer):
    partner = serializers.SlugRelatedField(
        slug_field="code", queryset=Partner.objects.all(), error_messages=NO_PARTNER
    )

    class Meta:
        model = Affiliation
        fields = ["partner", "title", "start", "end"]
        validators = []  # the rules are the write service's (people.services)


class PersonSerializer(serializers.ModelSerializer):
    """The partner by code; affiliations, when sent, replace them all. Input is only parsed
    here: the rules and the write are `people.services.save_person`'s."""

    partner = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Partner.objects.all(),
        allow_null=True,
        required=False,
        error_messages=NO_PARTNER,
    )
    affiliations = AffiliationSerializer(many=True, required=False, max_length=100)
    version = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=2**31 - 1,
        help_text="On PUT and PATCH: the version you read (or send If-Match). Read-only otherwise.",
    )

    class Meta:
        model = Person
        fields = [
            "id",
            "name",
            "title",
            "partner",
            "email",
            "phone",
            "marking",
            "affiliations",
            "version",
        ]
        read_only_fields = ["id"]

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
        return save_person(self.writer, _plain(validated_data))

    def update(self, person, validated_data):
        version = validated_data.pop("version")
        return save_person(self.writer, _plain(validated_data), person.pk, version)


def _plain(data):
    if "affiliations" in data:
        data["affiliations"] = [dict(item) for item in data["affiliations"]]
    return data


class PersonViewSet(VersionedMixin, viewsets.ModelViewSet):
    """People within the caller's clearance; anyone else is a 404."""

    serializer_class = PersonSerializer
    filterset_class = PersonFilterSet
    queryset = Person.objects.none()  # for the schema; see get_queryset
    write_permissions = {
        "POST": "people.add_person",
        "PUT": "people.change_person",
        "PATCH": "people.change_person",
        "DELETE": None,  # checked per person: analysts delete only those they entered
    }

    def get_queryset(self):
        return with_affiliations(Person.objects.restrict(self.request.user)).order_by("name", "id")

    def retrieve(self, request, *args, **kwargs):
        person = self.get_object()
        audit.read(request, person, "api")
        return Response(self.get_serializer(person).data)

    def destroy(self, request, *args, **kwargs):
        """Delete the person at the version you read (`version` or If-Match)."""
        person = self.get_object()
        if not person.allows(request.user, "delete"):
            raise exceptions.PermissionDenied("Analysts may delete only people they entered.")
        delete_person(request.user, person.pk, self.version_sent(request))
        return Response(status=204)


def with_affiliations(people):
    """What a list row, a download row or an API answer shows of people, in three queries."""
    return people.select_related("partner").prefetch_related(
        Prefetch("affiliations", queryset=Affiliation.objects.select_related("partner"))
    )
