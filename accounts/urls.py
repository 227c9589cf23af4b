from django.urls import path
from django.views.i18n import JavaScriptCatalog
from django_otp_webauthn import views as webauthn

from accounts import mfa, saved_views, views

# Included twice by config/urls.py, each list under its own namespace.
calendar_urlpatterns = [
    path("", views.calendar_index, name="index"),
    path("reset/", views.calendar_reset, name="reset"),
    path("<str:token>.ics", views.calendar_feed, name="feed"),
]

saved_view_urlpatterns = [
    path("", saved_views.saved_view_list, name="list"),
    path("new/", saved_views.saved_view_create, name="create"),
    path("<int:pk>/delete/", saved_views.saved_view_delete, name="delete"),
    path("<int:pk>/change/", saved_views.saved_view_update, name="update"),
    path("default/", saved_views.saved_view_default, name="default"),
]

# The second factor (accounts/mfa.py), under "mfa".
mfa_urlpatterns = [
    path("", mfa.index, name="index"),
    path("verify/", mfa.verify, name="verify"),
    path("remove/", mfa.remove, name="remove"),
    path("recovery-codes/", mfa.recovery_codes, name="recovery_codes"),
]

# django-otp-webauthn's endpoints, under the names its template tags reverse
# ("otp_webauthn"), with ours where a passkey is registered or used (the audit trail).
passkey_urlpatterns = [
    path(
        "registration/begin/",
        webauthn.BeginCredentialRegistrationView.as_view(),
        name="credential-registration-begin",
    ),
    path(
        "registration/complete/",
        mfa.PasskeyRegistered.as_view(),
        name="credential-registration-complete",
    ),
    path(
        "authentication/begin/",
        webauthn.BeginCredentialAuthenticationView.as_view(),
        name="credential-authentication-begin",
    ),
    path(
        "authentication/complete/",
        mfa.PasskeyUsed.as_view(),
        name="credential-authentication-complete",
    ),
    path(
        "jsi18n/",
        JavaScriptCatalog.as_view(packages=["django_otp_webauthn"]),
        name="js-i18n-catalog",
    ),
]
