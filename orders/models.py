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
