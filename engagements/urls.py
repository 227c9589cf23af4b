from django.urls import path

from engagements import import_views, views

app_name = "engagements"
urlpatterns = [
    path("", views.engagement_list, name="list"),
    path("new/", views.engagement_create, name="create"),
    path("bulk/", views.engagement_bulk, name="bulk"),
    path("import/", import_views.engagement_import, name="import"),
    path("import/template.<str:format>", import_views.import_template, name="import-template"),
    path("import/codes/", import_views.import_codes, name="import-codes"),
    path("exports/<int:job_id>/", views.export_download, name="export-download"),
    path("import/problems.csv", import_views.import_errors, name="import-errors"),
    path("<int:pk>/", views.engagement_detail, name="detail"),
    path("<int:pk>/edit/", views.engagement_edit, name="edit"),
    path("<int:pk>/delete/", views.engagement_delete, name="delete"),
]
urlpatterns += [
    path("<int:pk>/actions/", views.action_create, name="add-action"),
    path("<int:pk>/reviews/", views.review_create, name="add-review"),
    path("<int:pk>/notes/", views.note_create, name="add-note"),
    path("<int:pk>/attachments/", views.attachment_create, name="add-attachment"),
    path("attachments/<int:pk>/delete/", views.attachment_delete, name="delete-attachment"),
]

# Under /notes/ (config/urls.py): a note's own pages.
note_urlpatterns = [
    path("<int:pk>/edit/", views.note_edit, name="edit"),
    path("<int:pk>/delete/", views.note_delete, name="delete"),
]
