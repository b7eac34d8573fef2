"""Tables of the orders app."""

import uuid

from django.db import models


class Product(models.Model):
    """A menu item (seed 000: "Latte"); what is sold is one of its variations."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ProductVariation(models.Model):
    """A sellable variation ("Pumpkin Spice") with its price and stock."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variations")
    name = models.CharField(max_length=200)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    stock = models.PositiveIntegerField(default=0)
    low_stock_threshold = models.PositiveIntegerField(default=5)

    class Meta:
        ordering = ["product__name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "name"], name="orders_variation_unique_name"
            ),
            models.CheckConstraint(
                condition=models.Q(price__gte=0), name="orders_variation_price_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product.name} / {self.name}"


class Customer(models.Model):
    """The orders app's own view of a user, fed only by user events (seed 000's subscriber
    rules): checkout asks this table, not accounts, whether someone may order."""

    user_id = models.UUIDField(primary_key=True)
    username = models.CharField(max_length=150, blank=True)
    email = models.CharField(max_length=254, blank=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    role = models.CharField(max_length=16, blank=True)
    is_active = models.BooleanField(default=True)
    # The newest user.registered / user.updated applied: older updates are ignored.
    updated_at = models.DateTimeField()
    deleted_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.username or str(self.user_id)
