from django.urls import path

from engagements import views

app_name = "engagements"
urlpatterns = [
    path("", views.engagement_list, name="list"),
    path("new/", views.engagement_create, name="create"),
    path("import/", views.engagement_import, name="import"),
    path("<int:pk>/", views.engagement_detail, name="detail"),
    path("<int:pk>/edit/", views.engagement_edit, name="edit"),
    path("<int:pk>/delete/", views.engagement_delete, name="delete"),
]
urlpatterns += [
    path("<int:pk>/actions/", views.action_create, name="add-action"),
    path("<int:pk>/reviews/", views.review_create, name="add-review"),
]
