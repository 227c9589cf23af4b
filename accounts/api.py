"""API sign-in and sign-out: tokens from django-rest-knox, stored as hashes, that expire
after TOKEN_HOURS and can be revoked."""

from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in, user_logged_out
from drf_spectacular.utils import extend_schema, inline_serializer
from knox.models import AuthToken
from rest_framework import mixins, permissions, serializers, status, views, viewsets
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.response import Response

from accounts import mfa
from accounts.authentication import note_token_use, remove_expired_tokens
from accounts.filters import AuditFilterSet
from accounts.models import AuditEntry
from core.api import KeysetPagination
from core.permissions import HasRole
from core.throttling import ScopedRateThrottle


class TokenRequestSerializer(AuthTokenSerializer):
    otp = serializers.CharField(
        required=False,
        allow_blank=True,
        write_only=True,
        help_text="A code from the authenticator app, or a recovery code: needed when the "
        "account has a second factor.",
    )


class TokenView(views.APIView):
    """POST {username, password, otp} → {token}; throttled against guessing, and closed by
    the sign-in lockout like the sign-in page. An account with a second factor needs its
    code in `otp` (a token issued so counts as verified); one that must have a factor and
    has none sets it up in the browser first (accounts/mfa.py)."""

    permission_classes = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "token"

    @extend_schema(
        request=TokenRequestSerializer,
        responses=inline_serializer("Token", {"token": serializers.CharField()}),
    )
    def post(self, request):
        # django-axes marks a lockout on the HttpRequest its middleware sees, not on DRF's
        # wrapper: hand authenticate() the underlying request.
        credentials = TokenRequestSerializer(
            data=request.data, context={"request": request._request}
        )
        credentials.is_valid(raise_exception=True)
        user = credentials.validated_data["user"]
        refused = second_factor_refusal(request._request, user, credentials.validated_data)
        if refused:
            return Response({"otp": [refused]}, status=status.HTTP_400_BAD_REQUEST)
        remove_expired_tokens(user)
        instance, token = AuthToken.objects.create(user)
        note_token_use(instance, request._request, started=True)
        # As the sign-in page does: last_login, and axes forgets this account's failures.
        user_logged_in.send(sender=type(user), request=request._request, user=user)
        return Response({"token": token})


def second_factor_refusal(request, user, data):
    """Why no token is issued yet for `user` (who gave the right password), or None."""
    if mfa.has_factor(user):
        code = data.get("otp", "")
        if not code.strip():
            return "This account has a second factor: send its code (or a recovery code) in otp."
        device, wait = mfa.check_code(user, code)
        if device is not None:
            return None
        if wait is not None:
            return f"Too many wrong codes: wait {wait} seconds, then try again."
        mfa.wrong_code(request, user, via="token")  # may close sign-in: axes answers 429
        return "That code is not right, or it was used already."
    if mfa.must_have_factor(user):
        return (
            "This account needs a second factor first: sign in in the browser and set one "
            "up at /accounts/mfa/, then send its code in otp."
        )
    return None


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


class AuditEntrySerializer(serializers.ModelSerializer):
    user = serializers.SerializerMethodField(help_text="The username (null: nobody signed in).")

    class Meta:
        model = AuditEntry
        fields = AuditEntry.SHOWN

    def get_user(self, entry) -> str | None:
        return entry.username or None


class ReadsAudit(permissions.BasePermission):
    message = "Admins read the audit trail."

    def has_permission(self, request, view):
        return request.user.has_perm("accounts.view_auditentry")


class AuditViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The audit trail, newest first: the entries within the admin's clearance."""

    serializer_class = AuditEntrySerializer
    filterset_class = AuditFilterSet
    permission_classes = [HasRole, ReadsAudit]
    pagination_class = KeysetPagination
    sortable, default_ordering = {"at": "at"}, "-at"

    def get_queryset(self):
        return AuditEntry.objects.restrict(self.request.user)
