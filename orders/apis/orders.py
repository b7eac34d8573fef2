"""Cart, checkout and orders over REST. Customers see and change only their own cart and
orders; managers see every order and move them along; inspectors have no shop access."""

from typing import Any
from uuid import UUID

from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsCustomer, IsManager, user_is_manager
from config.errors import ERROR_RESPONSES, ApiError
from config.pagination import page_response
from config.serializers import MoneyField
from orders.directory import CustomerNotAllowed
from orders.models import Order
from orders.selectors import cart_open_get, order_get, order_list
from orders.services import (
    CartError,
    OrderTransitionError,
    cart_checkout,
    cart_item_remove,
    cart_item_set,
    order_cancel,
    order_status_change,
)
from orders.services.carts import CART_QUANTITY_MAX


@extend_schema_serializer(component_name="CartLine")
class CartLineSerializer(serializers.Serializer):
    variation_id = serializers.UUIDField()
    product_name = serializers.CharField(source="variation.product.name")
    variation_name = serializers.CharField(source="variation.name")
    quantity = serializers.IntegerField()
    unit_price = MoneyField(source="variation.price")


@extend_schema_serializer(component_name="Cart")
class CartOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField(allow_null=True)
    items = CartLineSerializer(many=True)
    total = MoneyField()


@extend_schema_serializer(component_name="OrderLine")
class OrderLineSerializer(serializers.Serializer):
    variation_id = serializers.UUIDField()
    product_name = serializers.CharField()
    variation_name = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = MoneyField()


@extend_schema_serializer(component_name="Order")
class OrderOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    customer_id = serializers.UUIDField()
    status = serializers.CharField()
    fulfillment = serializers.CharField()
    total_amount = MoneyField()
    currency = serializers.CharField()
    tracking_number = serializers.CharField()
    items = OrderLineSerializer(many=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    paid_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)
    cancel_reason = serializers.CharField()


def _cart_body(customer_id: UUID) -> dict[str, Any]:
    cart = cart_open_get(customer_id=customer_id)
    items = list(cart.items.select_related("variation__product").order_by("id")) if cart else []
    total = sum((item.variation.price * item.quantity for item in items), 0)
    return CartOutputSerializer(
        {"id": cart.id if cart else None, "items": items, "total": total}
    ).data


def _order_or_404(request: Request, order_id: UUID) -> Order:
    order = order_get(user=request.user, order_id=order_id)
    if order is None:  # someone else's order is as unknown as a missing one
        raise NotFound(f"No order {order_id}.")
    return order


def _transition_refused(exc: OrderTransitionError) -> ApiError:
    return ApiError(
        status_code=status.HTTP_409_CONFLICT,
        code="invalid_transition",
        message=str(exc),
        fields={"status": [f"Allowed from {exc.status}: {', '.join(exc.allowed) or 'none'}."]},
    )


class CartApi(APIView):
    permission_classes = [IsCustomer]

    @extend_schema(summary="My open cart", responses={200: CartOutputSerializer, **ERROR_RESPONSES})
    def get(self, request: Request) -> Response:
        return Response(_cart_body(request.user.pk))


class CartItemApi(APIView):
    permission_classes = [IsCustomer]

    @extend_schema_serializer(component_name="CartQuantity")
    class InputSerializer(serializers.Serializer):
        quantity = serializers.IntegerField(min_value=0, max_value=CART_QUANTITY_MAX)

    @extend_schema(
        summary="Put a variation in my cart with this quantity (0 takes it out)",
        request=InputSerializer,
        responses={200: CartOutputSerializer, **ERROR_RESPONSES},
    )
    def put(self, request: Request, variation_id: UUID) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic(durable=True):
            cart_item_set(
                customer_id=request.user.pk,
                variation_id=variation_id,
                quantity=serializer.validated_data["quantity"],
            )
        return Response(_cart_body(request.user.pk))

    @extend_schema(
        summary="Take a variation out of my cart",
        responses={200: CartOutputSerializer, **ERROR_RESPONSES},
    )
    def delete(self, request: Request, variation_id: UUID) -> Response:
        with transaction.atomic(durable=True):
            cart_item_remove(customer_id=request.user.pk, variation_id=variation_id)
        return Response(_cart_body(request.user.pk))


class CartCheckoutApi(APIView):
    permission_classes = [IsCustomer]

    @extend_schema_serializer(component_name="Checkout")
    class InputSerializer(serializers.Serializer):
        fulfillment = serializers.ChoiceField(
            choices=Order.Fulfillment.choices, default=Order.Fulfillment.PICKUP
        )

    @extend_schema(
        summary="Check my cart out: an order waiting for its payment",
        description="403 `customer_not_allowed` for an account the shop does not know (yet) or "
        "a deactivated one; 409 `cart_empty` or `out_of_stock` (fields name the variations).",
        request=InputSerializer,
        responses={201: OrderOutputSerializer, **ERROR_RESPONSES},
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            with transaction.atomic(durable=True):
                order = cart_checkout(
                    customer_id=request.user.pk,
                    fulfillment=serializer.validated_data["fulfillment"],
                )
        except CustomerNotAllowed as exc:
            raise ApiError(
                status_code=status.HTTP_403_FORBIDDEN, code="customer_not_allowed", message=str(exc)
            ) from exc
        except CartError as exc:
            raise ApiError(
                status_code=status.HTTP_409_CONFLICT,
                code=exc.code,
                message=exc.message,
                fields=exc.fields,
            ) from exc
        return Response(OrderOutputSerializer(order).data, status=status.HTTP_201_CREATED)


class OrderListApi(APIView):
    permission_classes = [IsCustomer]

    @extend_schema(
        summary="Orders: a customer's own, or all of them for managers",
        parameters=[
            OpenApiParameter("status", str, enum=Order.Status.values),
            OpenApiParameter("created_after", str, description="ISO-8601 date-time"),
            OpenApiParameter("created_before", str, description="ISO-8601 date-time"),
            OpenApiParameter("ordering", str, enum=["created_at", "-created_at", "total_amount",
                                                      "-total_amount"]),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int),
        ],
        responses={200: OrderOutputSerializer(many=True), **ERROR_RESPONSES},
    )  # fmt: skip
    def get(self, request: Request) -> Response:
        orders = order_list(user=request.user, filters=request.query_params)
        return page_response(request, self, orders, OrderOutputSerializer)


class OrderDetailApi(APIView):
    permission_classes = [IsCustomer]

    @extend_schema(summary="One order", responses={200: OrderOutputSerializer, **ERROR_RESPONSES})
    def get(self, request: Request, order_id: UUID) -> Response:
        return Response(OrderOutputSerializer(_order_or_404(request, order_id)).data)


class OrderStatusApi(APIView):
    permission_classes = [IsManager]

    @extend_schema_serializer(component_name="OrderStatusChange")
    class InputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=Order.Status.choices)
        tracking_number = serializers.CharField(max_length=64, required=False, default="")

    @extend_schema(
        summary="Move an order one step (managers)",
        description="409 `invalid_transition` names the moves allowed from the order's status.",
        request=InputSerializer,
        responses={200: OrderOutputSerializer, **ERROR_RESPONSES},
    )
    def post(self, request: Request, order_id: UUID) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = _order_or_404(request, order_id)
        try:
            with transaction.atomic(durable=True):
                order = order_status_change(
                    order_id=order.id,
                    new_status=serializer.validated_data["status"],
                    by=request.user,
                    tracking_number=serializer.validated_data["tracking_number"],
                )
        except OrderTransitionError as exc:
            raise _transition_refused(exc) from exc
        return Response(OrderOutputSerializer(order).data)


class OrderCancelApi(APIView):
    permission_classes = [IsCustomer]

    @extend_schema_serializer(component_name="OrderCancel")
    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=64, required=False, default="customer_request")

    @extend_schema(
        summary="Cancel an order (customers: until preparation; managers: until shipped)",
        request=InputSerializer,
        responses={200: OrderOutputSerializer, **ERROR_RESPONSES},
    )
    def post(self, request: Request, order_id: UUID) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = _order_or_404(request, order_id)
        try:
            with transaction.atomic(durable=True):
                order = order_cancel(
                    order_id=order.id,
                    by=request.user,
                    reason=serializer.validated_data["reason"],
                    as_manager=user_is_manager(request.user),
                )
        except OrderTransitionError as exc:
            raise _transition_refused(exc) from exc
        return Response(OrderOutputSerializer(order).data)
