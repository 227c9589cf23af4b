from django.apps import AppConfig


class RoadmapConfig(AppConfig):
    name = "roadmap"
    verbose_name = "Roadmap"

    def ready(self):
        from roadmap import signals  # noqa: F401  (connects the report handlers)
