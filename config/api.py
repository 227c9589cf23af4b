"""What every API endpoint shares: who may call it, how lists page, how errors read."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError
from rest_framework import exceptions, pagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import exception_handler as drf_exception_handler

from engagements.filters import SORTABLE, sort_column
from engagements.models import StaleVersion
from engagements.pagination import keyset_ordering, paginate
from engagements.services import NotVisible


class Conflict(exceptions.APIException):
    status_code = 409
    default_detail = "Someone else changed this since you read it."
    default_code = "conflict"


def exception_handler(exc, context):
    """Model rules (Django's ValidationError) answer 400 {field: [messages]}, a stale
    version 409, an engagement that vanished from the caller's sight 404, a protected
    delete 409: never a 500 for input a user can correct."""
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    elif isinstance(exc, StaleVersion):
        exc = Conflict()
    elif isinstance(exc, NotVisible):  # gone, or raised above the caller's clearance
        exc = exceptions.NotFound()
    elif isinstance(exc, ProtectedError):
        exc = Conflict("Still referred to by other records; deactivate it instead.")
    return drf_exception_handler(exc, context)


class PageNumberPagination(pagination.PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class KeysetPagination(pagination.BasePagination):
    """`{next, previous, results}` pages in an indexed order ending in id (newest
    `start_date` first by default): page 10,000 costs what page 1 costs."""

    page_size = 50
    max_page_size = 500

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        requested = request.query_params.get("ordering", "-start_date").split(",")[0]
        if requested.lstrip("-") not in SORTABLE:
            raise exceptions.ValidationError({"ordering": [f"Cannot sort by “{requested}”."]})
        ordering = keyset_ordering(sort_column(requested))
        try:
            size = int(request.query_params.get("page_size", self.page_size))
        except ValueError:
            raise exceptions.ValidationError({"page_size": ["A whole number, please."]}) from None
        if not 1 <= size <= self.max_page_size:
            raise exceptions.ValidationError({"page_size": ["Between 1 and 500."]})
        try:
            self.page = paginate(queryset, ordering, size, request.query_params.get("cursor"))
        except DjangoValidationError as error:
            raise exceptions.ValidationError({"cursor": error.messages}) from None
        return list(self.page)

    def _link(self, cursor):
        if not cursor:
            return None
        return replace_query_param(self.request.build_absolute_uri(), "cursor", cursor)

    def get_paginated_response(self, data):
        return Response(
            {
                "next": self._link(self.page.next_cursor),
                "previous": self._link(self.page.previous_cursor),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": "cursor",
                "in": "query",
                "required": False,
                "description": "The `next` or `previous` link's cursor.",
                "schema": {"type": "string"},
            },
            {
                "name": "page_size",
                "in": "query",
                "required": False,
                "schema": {"type": "integer", "minimum": 1, "maximum": 500},
            },
        ]
