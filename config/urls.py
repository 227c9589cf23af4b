from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from accounts import views as account_views
from accounts.api import AuditViewSet, LogoutView, TokenView
from accounts.urls import (
    calendar_urlpatterns,
    mfa_urlpatterns,
    passkey_urlpatterns,
    saved_view_urlpatterns,
)
from core.uploads import BODY_ALLOWANCE, body_limit
from engagements.api import (
    ActionViewSet,
    AttachmentDownloadView,
    EngagementActionsView,
    EngagementAttachmentsView,
    EngagementNotesView,
    EngagementReviewsView,
    EngagementViewSet,
    NoteViewSet,
    PartnerNotesView,
    PartnerTimelineView,
    SearchView,
)
from engagements.urls import note_urlpatterns
from engagements.views import action_list, search_page
from jobs.api import JobViewSet
from notifications.api import EngagementWatchView, NotificationViewSet, PartnerWatchView
from partners.api import PartnerViewSet
from people.api import PersonViewSet
from reports import urls as report_urls
from reports.views import dashboard
from roadmap import api as roadmap_api

router = DefaultRouter()
router.register("pillars", roadmap_api.PillarViewSet, basename="pillar")
router.register("tips", roadmap_api.TipViewSet, basename="tip")
router.register("partners", PartnerViewSet, basename="partner")
router.register("engagements", EngagementViewSet, basename="engagement")
router.register("people", PersonViewSet, basename="person")
router.register("notifications", NotificationViewSet, basename="notification")
router.register("targets", roadmap_api.TargetViewSet, basename="target")
router.register("actions", ActionViewSet, basename="action")
router.register("notes", NoteViewSet, basename="note")
router.register("audit", AuditViewSet, basename="audit")
router.register("jobs", JobViewSet, basename="job")

api_urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="token"),
    path("auth/logout/", LogoutView.as_view(), name="logout"),
    path("tips/<int:number>/status/", roadmap_api.TipStatusView.as_view(), name="tip-status"),
    *report_urls.api_urlpatterns,
    path(
        "engagements/<int:pk>/actions/",
        EngagementActionsView.as_view(),
        name="engagement-actions",
    ),
    path(
        "engagements/<int:pk>/reviews/",
        EngagementReviewsView.as_view(),
        name="engagement-reviews",
    ),
    path("engagements/<int:pk>/notes/", EngagementNotesView.as_view(), name="engagement-notes"),
    path("partners/<str:code>/notes/", PartnerNotesView.as_view(), name="partner-notes"),
    path("search/", SearchView.as_view(), name="search"),
    path("engagements/<int:pk>/watch/", EngagementWatchView.as_view(), name="engagement-watch"),
    path("partners/<str:code>/watch/", PartnerWatchView.as_view(), name="partner-watch"),
    path(
        "engagements/<int:pk>/attachments/",
        body_limit(settings.ATTACHMENT_MAX_MB * 1024 * 1024 + BODY_ALLOWANCE)(
            EngagementAttachmentsView.as_view()
        ),
        name="engagement-attachments",
    ),
    path(
        "attachments/<int:pk>/download/",
        AttachmentDownloadView.as_view(),
        name="attachment-download",
    ),
    path(
        "partners/<str:code>/timeline/",
        PartnerTimelineView.as_view(),
        name="partner-timeline",
    ),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path("", include(router.urls)),
]

urlpatterns = [
    # First: Django tries the patterns in order, and each include passed over on the way
    # costs an exception; API calls are the many small requests.
    path("api/v1/", include((api_urlpatterns, "api"))),
    path("", dashboard, name="dashboard"),
    # Browsers ask for it at the root; resolved per request (the static manifest's name).
    path(
        "favicon.ico",
        login_not_required(lambda request: redirect(static("favicon.ico"))),
        name="favicon",
    ),
    path("accounts/login/", account_views.SignInView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/mfa/", include((mfa_urlpatterns, "mfa"))),
    path("accounts/mfa/passkeys/", include((passkey_urlpatterns, "otp_webauthn"))),
    path("accounts/password/", account_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/sessions/", account_views.sessions, name="sessions"),
    path("accounts/sessions/ping/", account_views.session_ping, name="session-ping"),
    path("audit/", account_views.audit_list, name="audit"),
    path("engagements/", include("engagements.urls")),
    path("notes/", include((note_urlpatterns, "notes"))),
    path("search/", search_page, name="search"),
    path("actions/", action_list, name="actions"),
    path("saved-views/", include((saved_view_urlpatterns, "saved_views"))),
    path("partners/", include("partners.urls")),
    path("people/", include("people.urls")),
    path("notifications/", include("notifications.urls")),
    path("roadmap/", include("roadmap.urls")),
    path("jobs/", include("jobs.urls")),
    path("calendar/", include((calendar_urlpatterns, "calendar"))),
    path("reports/", include("reports.urls")),
    path("admin/", admin.site.urls),
]
