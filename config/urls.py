from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from engagements.views import dashboard
from roadmap.urls import report_urlpatterns

urlpatterns = [
    path("", dashboard, name="dashboard"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("engagements/", include("engagements.urls")),
    path("partners/", include("partners.urls")),
    path("roadmap/", include("roadmap.urls")),
    path("reports/", include((report_urlpatterns, "reports"))),
    path("admin/", admin.site.urls),
]
