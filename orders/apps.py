from django.apps import AppConfig


class OrdersConfig(AppConfig):
    """The shop: products, cart, inventory, orders and their status machine."""

    name = "orders"
    verbose_name = "Orders"
    default_auto_field = "django.db.models.BigAutoField"
