from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """Every number the tracker shows, and the pages, files and messages made of them: the
    reports, the dashboard, the digest and the calendar feed. The top layer: it reads the
    engagements and the reference data; nothing below imports it but from views."""

    name = "reports"
    verbose_name = "Reports"

    def ready(self):
        from reports import checks  # noqa: F401 (registers the mail checks)
