from django.utils import timezone
from rest_framework import serializers, viewsets

from accounts.markings import MarkedNoteSerializer
from jobs.api import StartsJobsMixin
from partners.filters import PartnerFilterSet
from partners.models import Partner


class PartnerSerializer(MarkedNoteSerializer):
    """A partner; its notes and `notes_marking` are null for a reader not cleared to the
    notes (withheld)."""

    note_field = "notes"
    member_of = serializers.SerializerMethodField(help_text="Organizations it belongs to today.")
    members = serializers.SerializerMethodField(help_text="Its member states today.")

    class Meta:
        model = Partner
        fields = [
            "code",
            "name",
            "kind",
            "region",
            "active",
            "aliases",
            "notes",
            "notes_marking",
            "member_of",
            "members",
        ]

    def _current(self, partner, side):
        # Memberships come prefetched (see the viewset), so this costs no query per row.
        today = timezone.localdate()
        links = partner.memberships.all() if side == "member_of" else partner.member_links.all()
        return sorted(
            (link.organization.code if side == "member_of" else link.member.code)
            for link in links
            if link.is_current(today)
        )

    def get_member_of(self, partner) -> list[str]:
        return self._current(partner, "member_of")

    def get_members(self, partner) -> list[str]:
        return self._current(partner, "members")


class PartnerViewSet(StartsJobsMixin, viewsets.ModelViewSet):
    """Partners by `code`; anyone with a role reads, admins write. A write that moves report
    numbers answers with the `job` that applies it to the reports."""

    queryset = Partner.objects.order_by("code").prefetch_related(
        "memberships__organization", "member_links__member"
    )
    serializer_class = PartnerSerializer
    filterset_class = PartnerFilterSet
    lookup_field = "code"
    lookup_value_regex = "[^/]+"
    write_permissions = {
        "POST": "partners.add_partner",
        "PUT": "partners.change_partner",
        "PATCH": "partners.change_partner",
        "DELETE": "partners.delete_partner",
    }
