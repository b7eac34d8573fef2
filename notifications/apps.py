from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """Email, SMS and push messages triggered by events."""

    name = "notifications"
    verbose_name = "Notifications"
    default_auto_field = "django.db.models.BigAutoField"
