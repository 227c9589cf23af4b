from django.urls import path

from accounts import views

app_name = "calendar"
urlpatterns = [
    path("", views.calendar_index, name="index"),
    path("reset/", views.calendar_reset, name="reset"),
    path("<str:token>.ics", views.calendar_feed, name="feed"),
]
