"""Event types of the orders app and the topics they travel on."""

from typing import Any

from outbox.catalog import event_type_declare
from outbox.topics import topic_declare

ORDER_TOPIC = topic_declare(app="orders", aggregate="order")
CART_TOPIC = topic_declare(app="orders", aggregate="cart")
PRODUCT_TOPIC = topic_declare(app="orders", aggregate="product")

# Money travels as a string with two decimals ("4.50"), never as a float.
MONEY = {"type": "string", "pattern": r"^-?\d+\.\d{2}$"}
UUID = {"type": "string", "format": "uuid"}
DATE_TIME = {"type": "string", "format": "date-time"}
USER_ID = {"type": ["string", "null"]}


def _object(**properties: dict[str, Any]) -> dict[str, Any]:
    """A closed object: every property required, no others allowed."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


_VARIATION = _object(
    id=UUID,
    name={"type": "string"},
    price=MONEY,
    stock={"type": "integer", "minimum": 0},
    low_stock_threshold={"type": "integer", "minimum": 0},
)

# product.created and product.updated carry the whole product, so a consumer can rebuild
# its copy of the catalogue from the latest of them alone.
_PRODUCT = _object(
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
    schema=_object(
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
    schema=_object(id=UUID, deleted_at=DATE_TIME, deleted_by=USER_ID),
)
