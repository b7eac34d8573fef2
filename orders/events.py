"""Event types of the orders app and the topics they travel on."""

from outbox.catalog import event_type_declare
from outbox.schemas import CURRENCY, DATE_TIME, MONEY, UUID, closed_object
from outbox.topics import topic_declare

ORDER_TOPIC = topic_declare(app="orders", aggregate="order")
CART_TOPIC = topic_declare(app="orders", aggregate="cart")
PRODUCT_TOPIC = topic_declare(app="orders", aggregate="product")

USER_ID = {"type": ["string", "null"]}
# The order's version after the event: each order.* event carries the next one (created: 1).
ORDER_VERSION = {"type": "integer", "minimum": 1}


_VARIATION = closed_object(
    id=UUID,
    name={"type": "string"},
    price=MONEY,
    stock={"type": "integer", "minimum": 0},
    low_stock_threshold={"type": "integer", "minimum": 0},
)

# product.created and product.updated carry the whole product, so a consumer can rebuild
# its copy of the catalogue from the latest of them alone.
_PRODUCT = closed_object(
    id=UUID,
    name={"type": "string"},
    description={"type": "string"},
    is_active={"type": "boolean"},
    variations={"type": "array", "items": _VARIATION},
    created_at=DATE_TIME,
    updated_at=DATE_TIME,
)

PRODUCT_CREATED = event_type_declare(
    name="product.created",
    topic=PRODUCT_TOPIC,
    aggregate_type="product",
    key_field="id",
    description="A product was added to the catalogue, with its variations.",
    schema=_PRODUCT,
)

PRODUCT_UPDATED = event_type_declare(
    name="product.updated",
    topic=PRODUCT_TOPIC,
    aggregate_type="product",
    key_field="id",
    description="A product's details or variations changed; carries the whole product.",
    schema=_PRODUCT,
)

PRODUCT_PRICE_CHANGED = event_type_declare(
    name="product.price_changed",
    topic=PRODUCT_TOPIC,
    aggregate_type="product",
    key_field="id",
    description="The price of one variation of a product changed.",
    schema=closed_object(
        id=UUID,
        variation_id=UUID,
        variation_name={"type": "string"},
        previous_price=MONEY,
        new_price=MONEY,
        changed_by=USER_ID,
        changed_at=DATE_TIME,
    ),
)

PRODUCT_DELETED = event_type_declare(
    name="product.deleted",
    topic=PRODUCT_TOPIC,
    aggregate_type="product",
    key_field="id",
    description="A product was withdrawn (soft delete: orders keep their snapshots).",
    schema=closed_object(id=UUID, deleted_at=DATE_TIME, deleted_by=USER_ID),
)

# --- cart (key: the cart's id) ---------------------------------------------------------------

CART_CREATED = event_type_declare(
    name="cart.created",
    topic=CART_TOPIC,
    key_field="id",
    description="A customer started a cart.",
    schema=closed_object(id=UUID, customer_id=UUID, created_at=DATE_TIME),
)
CART_ITEM_ADDED = event_type_declare(
    name="cart.item_added",
    topic=CART_TOPIC,
    key_field="id",
    description="A variation was put in the cart, or its quantity changed (`quantity`: now).",
    schema=closed_object(
        id=UUID,
        customer_id=UUID,
        variation_id=UUID,
        product_name={"type": "string"},
        variation_name={"type": "string"},
        quantity={"type": "integer", "minimum": 1},
        unit_price=MONEY,
    ),
)
CART_ITEM_REMOVED = event_type_declare(
    name="cart.item_removed",
    topic=CART_TOPIC,
    key_field="id",
    description="A variation was taken out of the cart.",
    schema=closed_object(id=UUID, customer_id=UUID, variation_id=UUID),
)
CART_CHECKED_OUT = event_type_declare(
    name="cart.checked_out",
    topic=CART_TOPIC,
    key_field="id",
    description="The cart became an order.",
    schema=closed_object(id=UUID, customer_id=UUID, order_id=UUID, checked_out_at=DATE_TIME),
)

# --- order and its inventory (key: the order's id) -------------------------------------------

_ORDER_ITEM = closed_object(
    product_name={"type": "string"},
    variation_name={"type": "string"},
    quantity={"type": "integer", "minimum": 1},
    unit_price=MONEY,
)
ORDER_CREATED = event_type_declare(
    name="order.created",
    topic=ORDER_TOPIC,
    key_field="id",
    priority="high",
    description="An order was placed (seed 000's fields); it waits for its payment.",
    schema=closed_object(
        id=UUID,
        user_id=UUID,
        status={"const": "pending_payment"},
        total_amount=MONEY,
        currency=CURRENCY,
        items={"type": "array", "items": _ORDER_ITEM, "minItems": 1},
        fulfillment={"type": "string", "enum": ["pickup", "shipping"]},
        created_at=DATE_TIME,
        version={"const": 1},
    ),
)
INVENTORY_RESERVED = event_type_declare(
    name="inventory.reserved",
    topic=ORDER_TOPIC,
    aggregate_type="order",
    key_field="order_id",
    description="Stock was set aside for an order at checkout.",
    schema=closed_object(
        order_id=UUID,
        items={
            "type": "array",
            "items": closed_object(variation_id=UUID, quantity={"type": "integer", "minimum": 1}),
            "minItems": 1,
        },
        reserved_at=DATE_TIME,
    ),
)
INVENTORY_STOCK_LOW = event_type_declare(
    name="inventory.stock_low",
    topic=PRODUCT_TOPIC,
    aggregate_type="product",
    key_field="product_id",
    description="A variation's stock fell to or below its threshold (once per crossing).",
    schema=closed_object(
        product_id=UUID,
        variation_id=UUID,
        stock={"type": "integer", "minimum": 0},
        low_stock_threshold={"type": "integer", "minimum": 0},
        at=DATE_TIME,
    ),
)

_STATUS = {
    "type": "string",
    "enum": ["pending_payment", "waiting", "preparation", "ready", "shipped", "delivered",
             "cancelled"],
}  # fmt: skip
ORDER_CONFIRMED = event_type_declare(
    name="order.confirmed",
    topic=ORDER_TOPIC,
    key_field="id",
    priority="high",
    description="The order was paid: it waits for preparation.",
    schema=closed_object(
        id=UUID,
        user_id=UUID,
        status={"const": "waiting"},
        payment_id=UUID,
        confirmed_at=DATE_TIME,
        version=ORDER_VERSION,
    ),
)
ORDER_STATUS_CHANGED = event_type_declare(
    name="order.status.changed",
    topic=ORDER_TOPIC,
    key_field="id",
    description="A manager moved the order along its status machine (seed 000).",
    schema=closed_object(
        id=UUID,
        user_id=UUID,
        previous_status=_STATUS,
        new_status=_STATUS,
        updated_by=USER_ID,
        updated_at=DATE_TIME,
        version=ORDER_VERSION,
    ),
)
ORDER_SHIPPED = event_type_declare(
    name="order.shipped",
    topic=ORDER_TOPIC,
    key_field="id",
    description="The order left with a carrier.",
    schema=closed_object(id=UUID, user_id=UUID, tracking_number={"type": "string", "minLength": 1},
                   shipped_at=DATE_TIME, version=ORDER_VERSION),
)  # fmt: skip
ORDER_DELIVERED = event_type_declare(
    name="order.delivered",
    topic=ORDER_TOPIC,
    key_field="id",
    description="The customer has the order (picked up or delivered).",
    schema=closed_object(id=UUID, user_id=UUID, delivered_at=DATE_TIME, version=ORDER_VERSION),
)
ORDER_CANCELLED = event_type_declare(
    name="order.cancelled",
    topic=ORDER_TOPIC,
    key_field="id",
    priority="high",
    description="The order was cancelled; `refund_due` when it had been paid.",
    schema=closed_object(
        id=UUID,
        user_id=UUID,
        previous_status=_STATUS,
        reason={"type": "string"},
        refund_due={"type": "boolean"},
        amount=MONEY,
        currency={"type": "string"},
        cancelled_by=USER_ID,
        cancelled_at=DATE_TIME,
        version=ORDER_VERSION,
    ),
)
_STOCK_ITEMS = {
    "type": "array",
    "items": closed_object(variation_id=UUID, quantity={"type": "integer", "minimum": 1}),
    "minItems": 1,
}
INVENTORY_UPDATED = event_type_declare(
    name="inventory.updated",
    topic=ORDER_TOPIC,
    aggregate_type="order",
    key_field="order_id",
    description="An order was paid: its reserved stock is sold for good.",
    schema=closed_object(order_id=UUID, items=_STOCK_ITEMS, updated_at=DATE_TIME),
)
INVENTORY_RELEASED = event_type_declare(
    name="inventory.released",
    topic=ORDER_TOPIC,
    aggregate_type="order",
    key_field="order_id",
    description="A cancelled order's reserved stock is back on sale.",
    schema=closed_object(order_id=UUID, items=_STOCK_ITEMS, released_at=DATE_TIME),
)

CART_ABANDONED = event_type_declare(
    name="cart.abandoned",
    topic=CART_TOPIC,
    key_field="id",
    description="A cart sat idle past ORDERS_CART_ABANDON_AFTER_S (a beat job closes it).",
    schema=closed_object(
        id=UUID, customer_id=UUID, items_count={"type": "integer", "minimum": 0},
        abandoned_at=DATE_TIME,
    ),
)  # fmt: skip
