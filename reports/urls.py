from django.urls import path

from reports import api, views

# /reports/…, under the namespace "reports".
app_name = "reports"
urlpatterns = [
    path("coverage/", views.CoverageView.as_view(), name="coverage"),
    path("trend/", views.TrendView.as_view(), name="trend"),
    path("gaps/", views.GapsView.as_view(), name="gaps"),
    path("tips/", views.TipBoardView.as_view(), name="tips"),
    path("plan/", views.PlanView.as_view(), name="plan"),
    path("risks/", views.RisksView.as_view(), name="risks"),
]

# /api/v1/reports/…, under the API's namespace.
api_urlpatterns = [
    path("reports/coverage/", api.CoverageReportView.as_view(), name="report-coverage"),
    path("reports/trend/", api.TrendReportView.as_view(), name="report-trend"),
    path("reports/gaps/", api.GapsReportView.as_view(), name="report-gaps"),
    path("reports/plan/", api.PlanReportView.as_view(), name="report-plan"),
    path("reports/risks/", api.RisksReportView.as_view(), name="report-risks"),
]
