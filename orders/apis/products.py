"""Thin DRF views of the orders app: validate input, call one service, serialize output.

Anyone with a shop role reads the active catalogue (customers and managers; inspectors have
no shop access); only managers write, and only they see withdrawn products.
"""

from decimal import Decimal
from typing import Any
from uuid import UUID

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsCustomer, IsManager, user_is_manager
from config.errors import ERROR_RESPONSES
from config.pagination import PagePagination
from orders.models import Product
from orders.selectors import product_get, product_list, variation_get
from orders.services import (
    PRICE_MAX,
    STOCK_MAX,
    VariationSpec,
    product_create,
    product_delete,
    product_update,
    variation_add,
    variation_price_change,
)

VARIATIONS_MAX = 100

_ERROR = ERROR_RESPONSES[400].response
NOT_FOUND_RESPONSE = {404: OpenApiResponse(_ERROR, "Unknown product or variation")}
WRITE_ERROR_RESPONSES = {
    **ERROR_RESPONSES,
    415: OpenApiResponse(_ERROR, "Not JSON (code `unsupported_media_type`)"),
}


class ShopReadWriteApi(APIView):
    """Reads for customers and managers, writes for managers."""

    def get_permissions(self) -> list[BasePermission]:
        if self.request.method in SAFE_METHODS:
            return [IsCustomer()]
        return [IsManager()]


@extend_schema_serializer(component_name="ProductVariation")
class VariationOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    price = serializers.DecimalField(max_digits=10, decimal_places=2)
    stock = serializers.IntegerField()
    low_stock_threshold = serializers.IntegerField()


@extend_schema_serializer(component_name="Product")
class ProductOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    description = serializers.CharField()
    is_active = serializers.BooleanField()
    variations = VariationOutputSerializer(many=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


@extend_schema_serializer(component_name="VariationInput")
class VariationInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    price = serializers.DecimalField(
        max_digits=8, decimal_places=2, min_value=Decimal("0"), max_value=PRICE_MAX
    )
    stock = serializers.IntegerField(min_value=0, max_value=STOCK_MAX, default=0)
    low_stock_threshold = serializers.IntegerField(min_value=0, max_value=STOCK_MAX, default=5)


class ProductListApi(ShopReadWriteApi):
    """`GET /api/products` (paginated, filtered, ordered) and `POST /api/products`."""

    pagination_class = PagePagination

    @extend_schema_serializer(component_name="ProductFilter")
    class FilterSerializer(serializers.Serializer):
        is_active = serializers.BooleanField(required=False, allow_null=True, default=None)
        name = serializers.CharField(
            required=False, allow_blank=True, max_length=200, help_text="Contains (any case)."
        )
        ordering = serializers.ChoiceField(
            choices=["name", "-name", "created_at", "-created_at"],
            required=False,
            allow_blank=True,
            help_text="`-` for descending; default: name.",
        )

    @extend_schema_serializer(component_name="ProductCreate")
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200)
        description = serializers.CharField(max_length=10_000, required=False, allow_blank=True)
        variations = VariationInputSerializer(
            many=True, allow_empty=False, max_length=VARIATIONS_MAX
        )

        def validate_variations(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
            names = [variation["name"] for variation in value]
            if len(set(names)) != len(names):
                raise serializers.ValidationError("Variation names must be unique.")
            return value

    @extend_schema(
        summary="List products",
        parameters=[FilterSerializer],
        responses={
            200: ProductOutputSerializer(many=True),
            **ERROR_RESPONSES,
            **NOT_FOUND_RESPONSE,
        },
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        active_only = not user_is_manager(request.user)
        products = product_list(filters=filters.validated_data, active_only=active_only)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(products, request, view=self)
        return paginator.get_paginated_response(ProductOutputSerializer(page, many=True).data)

    @extend_schema(
        summary="Create a product with its variations (managers)",
        request=InputSerializer,
        responses={201: ProductOutputSerializer, **WRITE_ERROR_RESPONSES},
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        product = product_create(
            name=data["name"],
            description=data.get("description", ""),
            variations=[VariationSpec(**variation) for variation in data["variations"]],
            by=request.user,
        )
        return Response(_product_output(product.pk), status=status.HTTP_201_CREATED)


class ProductDetailApi(ShopReadWriteApi):
    """`GET`, `PATCH` and (soft) `DELETE /api/products/{product_id}`."""

    @extend_schema_serializer(component_name="ProductUpdate")
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200, required=False)
        description = serializers.CharField(max_length=10_000, required=False, allow_blank=True)
        is_active = serializers.BooleanField(required=False)

    @extend_schema(
        summary="Get a product",
        responses={200: ProductOutputSerializer, **ERROR_RESPONSES, **NOT_FOUND_RESPONSE},
    )
    def get(self, request: Request, product_id: UUID) -> Response:
        product = _product_or_404(request, product_id)
        return Response(ProductOutputSerializer(product).data)

    @extend_schema(
        summary="Change a product's name, description or availability (managers)",
        request=InputSerializer,
        responses={200: ProductOutputSerializer, **WRITE_ERROR_RESPONSES, **NOT_FOUND_RESPONSE},
    )
    def patch(self, request: Request, product_id: UUID) -> Response:
        product = _product_or_404(request, product_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        product_update(product=product, **serializer.validated_data, by=request.user)
        return Response(_product_output(product_id))

    @extend_schema(
        summary="Withdraw a product (managers; soft delete, orders keep their snapshots)",
        responses={204: None, **ERROR_RESPONSES, **NOT_FOUND_RESPONSE},
    )
    def delete(self, request: Request, product_id: UUID) -> Response:
        product = _product_or_404(request, product_id)
        product_delete(product=product, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class VariationCreateApi(APIView):
    """`POST /api/products/{product_id}/variations` (managers)."""

    permission_classes = [IsManager]

    @extend_schema(
        summary="Add a variation to a product (managers)",
        request=VariationInputSerializer,
        responses={
            201: VariationOutputSerializer,
            **WRITE_ERROR_RESPONSES,
            **NOT_FOUND_RESPONSE,
        },
    )
    def post(self, request: Request, product_id: UUID) -> Response:
        product = _product_or_404(request, product_id)
        serializer = VariationInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        spec = VariationSpec(**serializer.validated_data)
        variation = variation_add(product=product, spec=spec, by=request.user)
        return Response(VariationOutputSerializer(variation).data, status=status.HTTP_201_CREATED)


class VariationDetailApi(APIView):
    """`PATCH /api/products/{product_id}/variations/{variation_id}` (managers): the price."""

    permission_classes = [IsManager]

    @extend_schema_serializer(component_name="VariationPriceChange")
    class InputSerializer(serializers.Serializer):
        price = serializers.DecimalField(
            max_digits=8, decimal_places=2, min_value=Decimal("0"), max_value=PRICE_MAX
        )

    @extend_schema(
        summary="Change a variation's price (managers)",
        request=InputSerializer,
        responses={
            200: VariationOutputSerializer,
            **WRITE_ERROR_RESPONSES,
            **NOT_FOUND_RESPONSE,
        },
    )
    def patch(self, request: Request, product_id: UUID, variation_id: UUID) -> Response:
        variation = variation_get(product_id=product_id, variation_id=variation_id)
        if variation is None:
            raise NotFound("No such variation of this product.")
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        variation = variation_price_change(
            variation=variation, new_price=serializer.validated_data["price"], by=request.user
        )
        return Response(VariationOutputSerializer(variation).data)


def _product_or_404(request: Request, product_id: UUID) -> Product:
    product = product_get(product_id=product_id, active_only=not user_is_manager(request.user))
    if product is None:
        raise NotFound("No such product.")
    return product


def _product_output(product_id: UUID) -> dict[str, Any]:
    """The product as it is after a write, its variations included."""
    return ProductOutputSerializer(product_get(product_id=product_id)).data
