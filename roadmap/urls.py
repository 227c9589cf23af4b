from django.urls import path

from roadmap import views

app_name = "roadmap"
urlpatterns = [
    path("", views.roadmap, name="index"),
    path("tips/<int:number>/", views.tip_detail, name="tip"),
]
