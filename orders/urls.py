"""REST routes of the orders app, mounted under /api/."""

from django.urls import path

from orders import apis

urlpatterns = [
    path("products", apis.ProductListApi.as_view(), name="products"),
    path("products/<uuid:product_id>", apis.ProductDetailApi.as_view(), name="products-detail"),
    path(
        "products/<uuid:product_id>/variations",
        apis.VariationCreateApi.as_view(),
        name="products-variations",
    ),
    path(
        "products/<uuid:product_id>/variations/<uuid:variation_id>",
        apis.VariationDetailApi.as_view(),
        name="products-variations-detail",
    ),
    path("cart", apis.CartApi.as_view(), name="cart"),
    path("cart/items/<uuid:variation_id>", apis.CartItemApi.as_view(), name="cart-item"),
    path("cart/checkout", apis.CartCheckoutApi.as_view(), name="cart-checkout"),
    path("orders", apis.OrderListApi.as_view(), name="orders"),
    path("orders/<uuid:order_id>", apis.OrderDetailApi.as_view(), name="orders-detail"),
    path("orders/<uuid:order_id>/status", apis.OrderStatusApi.as_view(), name="orders-status"),
    path("orders/<uuid:order_id>/cancel", apis.OrderCancelApi.as_view(), name="orders-cancel"),
]
