"""What a page shows, noted where its records are gathered: a view (or the admin) calls
`shown(request, markings…)` for the records it puts on the page, and the page's banners
name the highest (accounts/markings.py, which knows the scale; core knows none)."""


def shown(request, *markings):
    """Note that the page of `request` shows records of these markings (None: nothing)."""
    noted = request.__dict__.setdefault("_shown_markings", set())
    noted.update(marking for marking in markings if marking)


def noted(request):
    """The markings noted for the page of `request` so far."""
    return getattr(request, "_shown_markings", set())
