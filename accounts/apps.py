from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Users, roles (customer, manager, inspector), authentication and user events."""

    name = "accounts"
    verbose_name = "Accounts"
    default_auto_field = "django.db.models.BigAutoField"
