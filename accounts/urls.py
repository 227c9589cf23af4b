from django.urls import path

from accounts import saved_views, views

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
