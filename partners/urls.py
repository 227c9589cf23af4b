from django.urls import path

from partners import views

app_name = "partners"
urlpatterns = [
    path("", views.partner_list, name="list"),
    path("<str:code>/", views.partner_detail, name="detail"),
    path("<str:code>/brief/", views.partner_brief, name="brief"),
    path("<str:code>/notes/", views.partner_note_create, name="add-note"),
]
