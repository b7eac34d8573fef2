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
]
