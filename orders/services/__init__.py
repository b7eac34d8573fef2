"""Writes of the orders app, one module per concept: keyword-only `<entity>_<action>`
functions, each atomic, each writing its outbox events in the same transaction."""

from orders.services.carts import (
    CartError,
    cart_checkout,
    cart_item_remove,
    cart_item_set,
    carts_idle_abandon,
)
from orders.services.orders import (
    OrderTransitionError,
    order_cancel,
    order_payment_complete,
    order_status_change,
    orders_unpaid_cancel,
)
from orders.services.products import (
    PRICE_MAX,
    STOCK_MAX,
    VariationSpec,
    product_create,
    product_delete,
    product_update,
    variation_add,
    variation_price_change,
)

__all__ = [
    "PRICE_MAX",
    "STOCK_MAX",
    "CartError",
    "OrderTransitionError",
    "VariationSpec",
    "cart_checkout",
    "cart_item_remove",
    "cart_item_set",
    "carts_idle_abandon",
    "order_cancel",
    "order_payment_complete",
    "order_status_change",
    "orders_unpaid_cancel",
    "product_create",
    "product_delete",
    "product_update",
    "variation_add",
    "variation_price_change",
]
