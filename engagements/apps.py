from django.apps import AppConfig


class EngagementsConfig(AppConfig):
    name = "engagements"
    verbose_name = "Engagements"

    def ready(self):
        # The report summaries follow changes of the directory and the roadmap.
        from engagements import signals  # noqa: F401
