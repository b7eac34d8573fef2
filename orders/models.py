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


class Cart(models.Model):
    """A customer's basket (seeds 001, 004); at most one open cart per customer."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CHECKED_OUT = "checked_out", "Checked out"
        ABANDONED = "abandoned", "Abandoned"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    customer_id = models.UUIDField(db_index=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer_id"],
                condition=models.Q(status="open"),
                name="orders_cart_one_open_per_customer",
            ),
        ]

    def __str__(self) -> str:
        return f"cart {self.id} ({self.status})"


class CartItem(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="items")
    variation = models.ForeignKey(ProductVariation, on_delete=models.PROTECT)
    quantity = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["cart", "variation"], name="orders_cartitem_unique"),
            models.CheckConstraint(
                condition=models.Q(quantity__gt=0), name="orders_cartitem_qty_gt_0"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.variation_id}"


class Order(models.Model):
    """An order with a price snapshot; its status machine is in orders.services."""

    class Status(models.TextChoices):
        PENDING_PAYMENT = "pending_payment", "Pending payment"
        WAITING = "waiting", "Waiting"
        PREPARATION = "preparation", "Preparation"
        READY = "ready", "Ready"
        SHIPPED = "shipped", "Shipped"
        DELIVERED = "delivered", "Delivered"
        CANCELLED = "cancelled", "Cancelled"

    class Fulfillment(models.TextChoices):
        PICKUP = "pickup", "Pickup"
        SHIPPING = "shipping", "Shipping"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    customer_id = models.UUIDField(db_index=True)
    cart = models.OneToOneField(Cart, on_delete=models.PROTECT, null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING_PAYMENT, db_index=True
    )
    fulfillment = models.CharField(
        max_length=8, choices=Fulfillment.choices, default=Fulfillment.PICKUP
    )
    total_amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="EUR")
    tracking_number = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=64, blank=True)
    # The per-order sequence: each order.* event carries the next one (order.created: 1), so
    # live clients drop what they already have and notice what they missed.
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(total_amount__gte=0), name="orders_order_total_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return f"order {self.id} ({self.status})"


class OrderItem(models.Model):
    """A line of an order, with the product's name and price as they were at checkout."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    variation = models.ForeignKey(ProductVariation, on_delete=models.PROTECT)
    product_name = models.CharField(max_length=200)
    variation_name = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product_name} / {self.variation_name}"
