from django.apps import AppConfig


class ConfigConfig(AppConfig):
    """The project itself: cross-app management commands (demo data) live here."""

    name = "config"
    verbose_name = "Project"
