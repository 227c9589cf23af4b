"""What every API endpoint shares: who may call it, how bodies parse, how lists page, how
errors read."""

import codecs
import math

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError
from rest_framework import exceptions, pagination, parsers
from rest_framework.response import Response
from rest_framework.utils import json
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import StaleVersion
from core.forms import whole_number
from core.pagination import keyset_ordering, paginate


class Conflict(exceptions.APIException):
    status_code = 409
    default_detail = "Someone else changed this since you read it."
    default_code = "conflict"


def exception_handler(exc, context):
    """Model rules (Django's ValidationError) answer 400 {field: [messages]}, a stale
    version 409, an engagement that vanished from the caller's sight 404, a protected
    delete 409, a body that is too large 400: never a 500 for input a user can correct."""
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    elif isinstance(exc, StaleVersion):
        exc = Conflict()
    elif isinstance(exc, ObjectDoesNotExist):  # gone, or raised above the caller's clearance
        exc = exceptions.NotFound()
    elif isinstance(exc, ProtectedError):
        exc = Conflict("Still referred to by other records; deactivate it instead.")
    elif isinstance(exc, RequestDataTooBig):  # Django's own size check, when DRF reads the body
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        exc = exceptions.ParseError(f"JSON parse error - body too large (over {limit} bytes)")
    return drf_exception_handler(exc, context)


def _finite_float(text):
    number = float(text)
    if not math.isfinite(number):  # 1e400 reads as infinity
        raise ValueError(f"number out of range: {text}")
    return number


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with every way a body can fail to parse answered 400 (ParseError):
    a body over DATA_UPLOAD_MAX_MEMORY_SIZE, nesting deeper than Python's recursion limit,
    numbers beyond a double's range (1e400) or with more digits than int() takes, and
    NaN/Infinity."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read(limit + 1) if stream is not None else b""
        if limit is not None and len(raw) > limit:
            raise exceptions.ParseError(f"JSON parse error - body too large (over {limit} bytes)")
        try:
            text = codecs.decode(raw, encoding)
            return json.loads(text, parse_constant=json.strict_constant, parse_float=_finite_float)
        except (ValueError, RecursionError, OverflowError) as error:
            message = "nested too deeply" if isinstance(error, RecursionError) else str(error)
            raise exceptions.ParseError(f"JSON parse error - {message}") from None


class PageNumberPagination(pagination.PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class KeysetPagination(pagination.BasePagination):
    """`{next, previous, results}` pages in an indexed order ending in id: page 10,000
    costs what page 1 costs. The view says what may be sorted on (`sortable`: {name:
    column}) and its order when none is asked for (`default_ordering`)."""

    page_size = 50
    max_page_size = 500

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        requested = request.query_params.get("ordering", view.default_ordering).split(",")[0]
        name = requested.lstrip("-")
        if name not in view.sortable:
            raise exceptions.ValidationError({"ordering": [f"Cannot sort by “{requested}”."]})
        descending = requested.startswith("-")
        ordering = keyset_ordering(("-" if descending else "") + view.sortable[name])
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


VERSION_MISSING = "Send the version you read (or an If-Match header)."


class VersionedMixin:
    """For viewsets of records written from the version read (engagements, people): an
    `If-Match: "<version>"` header stands in for `version` in the body, and an answer
    holding one record carries its version as the ETag."""

    def get_serializer(self, *args, **kwargs):
        match = whole_number(self.request.headers.get("If-Match", "").strip('W/"'))
        if "data" in kwargs and match is not None and "version" not in kwargs["data"]:
            kwargs["data"] = {**kwargs["data"], "version": match}
        return super().get_serializer(*args, **kwargs)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if isinstance(response.data, dict) and "version" in response.data and "id" in response.data:
            response["ETag"] = f'"{response.data["version"]}"'
        return response

    @staticmethod
    def version_sent(request):
        """The version a DELETE was sent with: If-Match, `?version=` or the body's."""
        sent = request.headers.get("If-Match", "").strip('W/"') or request.query_params.get(
            "version", ""
        )
        if not sent and isinstance(request.data, dict):
            sent = str(request.data.get("version", ""))
        version = whole_number(sent)
        if version is None:
            raise exceptions.ValidationError({"version": [VERSION_MISSING]})
        return version
