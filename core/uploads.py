"""How large a request body a view takes, checked from `Content-Length` before anything
reads the body (config.middleware.BodyLimitMiddleware)."""

from django.conf import settings

# The file and what a multipart body carries around it (boundaries, headers, the token).
BODY_ALLOWANCE = 64 * 1024


def body_limit(max_bytes):
    """Let the decorated view take request bodies of up to `max_bytes` (the default for
    every other view is DATA_UPLOAD_MAX_MEMORY_SIZE)."""

    def decorate(view):
        view.max_body_bytes = max_bytes
        return view

    return decorate


def limit_for(view):
    return getattr(view, "max_body_bytes", settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
