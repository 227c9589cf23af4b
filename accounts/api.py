"""API sign-in and sign-out: tokens from django-rest-knox, stored as hashes, that expire
after TOKEN_HOURS and can be revoked."""

from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in, user_logged_out
from drf_spectacular.utils import extend_schema, inline_serializer
from knox.models import AuthToken
from rest_framework import serializers, status, views
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.response import Response

from core.throttling import ScopedRateThrottle


class TokenView(views.APIView):
    """POST {username, password} → {token}; throttled against guessing, and closed by the
    sign-in lockout like the sign-in page."""

    permission_classes = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "token"

    @extend_schema(
        request=AuthTokenSerializer,
        responses=inline_serializer("Token", {"token": serializers.CharField()}),
    )
    def post(self, request):
        # django-axes marks a lockout on the HttpRequest its middleware sees, not on DRF's
        # wrapper: hand authenticate() the underlying request.
        credentials = AuthTokenSerializer(data=request.data, context={"request": request._request})
        credentials.is_valid(raise_exception=True)
        user = credentials.validated_data["user"]
        _, token = AuthToken.objects.create(user)
        # As the sign-in page does: last_login, and axes forgets this account's failures.
        user_logged_in.send(sender=type(user), request=request._request, user=user)
        return Response({"token": token})


class LogoutView(views.APIView):
    """POST: the caller's token stops working at once (other tokens of the same user keep
    theirs); called with a session, the session ends. Like every API path it needs a role
    (a user without one gets 403; their token opens nothing anyway)."""

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        if isinstance(request.auth, AuthToken):
            request.auth.delete()
            user_logged_out.send(
                sender=type(request.user), request=request._request, user=request.user
            )
        else:
            logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)
