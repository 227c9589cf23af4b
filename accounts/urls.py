from django.urls import path

from accounts import saved_views

app_name = "saved_views"
urlpatterns = [
    path("", saved_views.saved_view_list, name="list"),
    path("new/", saved_views.saved_view_create, name="create"),
    path("<int:pk>/delete/", saved_views.saved_view_delete, name="delete"),
]
