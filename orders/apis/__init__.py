"""Thin DRF views of the orders app, one module per concept."""

from orders.apis.orders import (
    CartApi,
    CartCheckoutApi,
    CartItemApi,
    OrderCancelApi,
    OrderDetailApi,
    OrderListApi,
    OrderStatusApi,
)
from orders.apis.products import (
    ProductDetailApi,
    ProductListApi,
    VariationCreateApi,
    VariationDetailApi,
)

__all__ = [
    "CartApi",
    "CartCheckoutApi",
    "CartItemApi",
    "OrderCancelApi",
    "OrderDetailApi",
    "OrderListApi",
    "OrderStatusApi",
    "ProductDetailApi",
    "ProductListApi",
    "VariationCreateApi",
    "VariationDetailApi",
]
