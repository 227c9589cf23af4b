from django.apps import AppConfig


class EngagementsConfig(AppConfig):
    name = "engagements"
    verbose_name = "Engagements"

    def ready(self):
        # The report summaries follow changes of the directory and the roadmap.
        from engagements import signals  # noqa: F401
        from engagements.summaries.stamps import read_along_with_stamp

        read_along_with_stamp()
