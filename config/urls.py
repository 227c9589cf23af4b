from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from accounts.api import LogoutView, TokenView
from engagements.api import EngagementViewSet
from engagements.views import dashboard
from partners.api import PartnerViewSet
from roadmap import api as roadmap_api
from roadmap.urls import report_urlpatterns

router = DefaultRouter()
router.register("pillars", roadmap_api.PillarViewSet, basename="pillar")
router.register("tips", roadmap_api.TipViewSet, basename="tip")
router.register("partners", PartnerViewSet, basename="partner")
router.register("engagements", EngagementViewSet, basename="engagement")

api_urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="token"),
    path("auth/logout/", LogoutView.as_view(), name="logout"),
    path("tips/<int:number>/status/", roadmap_api.TipStatusView.as_view(), name="tip-status"),
    path("reports/coverage/", roadmap_api.CoverageReportView.as_view(), name="report-coverage"),
    path("reports/trend/", roadmap_api.TrendReportView.as_view(), name="report-trend"),
    path("reports/gaps/", roadmap_api.GapsReportView.as_view(), name="report-gaps"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path("", include(router.urls)),
]

urlpatterns = [
    path("", dashboard, name="dashboard"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("engagements/", include("engagements.urls")),
    path("saved-views/", include("accounts.urls")),
    path("partners/", include("partners.urls")),
    path("roadmap/", include("roadmap.urls")),
    path("reports/", include((report_urlpatterns, "reports"))),
    path("api/v1/", include((api_urlpatterns, "api"))),
    path("admin/", admin.site.urls),
]
