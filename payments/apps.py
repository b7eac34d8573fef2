from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    """Payment intents, the gateway and its signed webhooks, refunds, invoices."""

    name = "payments"
    verbose_name = "Payments"
    default_auto_field = "django.db.models.BigAutoField"
