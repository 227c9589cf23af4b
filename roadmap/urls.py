from django.urls import path

from roadmap import views

app_name = "roadmap"
urlpatterns = [
    path("", views.roadmap, name="index"),
    path("tips/<int:number>/", views.tip_detail, name="tip"),
]

report_urlpatterns = [
    path("coverage/", views.coverage_report, name="coverage"),
    path("trend/", views.trend_report, name="trend"),
    path("gaps/", views.gaps_report, name="gaps"),
    path("tips/", views.tip_board_report, name="tips"),
]
report_urlpatterns += [
    path("plan/", views.plan_report, name="plan"),
    path("risks/", views.risks_report, name="risks"),
]
