from django.urls import path

from notifications import views

app_name = "notifications"
urlpatterns = [
    path("", views.notification_list, name="list"),
    path("read/", views.notification_read, name="read"),
    path("preference/", views.preference, name="preference"),
    path("watch/engagements/<int:pk>/", views.watch_engagement, name="watch-engagement"),
    path("watch/partners/<str:code>/", views.watch_partner, name="watch-partner"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
