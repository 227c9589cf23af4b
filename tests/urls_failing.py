"""A URL configuration with a view that fails, to see the 500 page a user would get."""

from django.urls import include, path


def broken(request):
    raise RuntimeError("secret internals: do not show")


urlpatterns = [path("broken/", broken), path("", include("config.urls"))]
