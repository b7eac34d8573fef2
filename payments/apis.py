"""Payments over REST: a payer starts and sees their own payments (managers see all and
refund); the gateway's webhook comes in unauthenticated but signed."""

from typing import Any
from uuid import UUID

from django.db import transaction
from django.http import FileResponse
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsManager
from config.errors import ERROR_RESPONSES, ApiError
from config.pagination import page_response
from config.serializers import MoneyField
from payments.gateways import (
    GatewayNotification,
    PaymentGateway,
    WebhookRejected,
    gateway_get,
)
from payments.idempotency import HEADER as IDEMPOTENCY_HEADER
from payments.idempotency import idempotent
from payments.metrics import payment_webhooks_total
from payments.models import Payable, Payment
from payments.selectors import payable_get, payment_get, payment_list
from payments.services import (
    DuplicateDelivery,
    PaymentError,
    payment_notification_apply,
    payment_start,
    refund_create,
)


@extend_schema_serializer(component_name="Refund")
class RefundOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    amount = MoneyField()
    reason = serializers.CharField()
    status = serializers.CharField()
    failure_reason = serializers.CharField()
    created_at = serializers.DateTimeField()


@extend_schema_serializer(component_name="Payment")
class PaymentOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    payable_type = serializers.CharField(source="payable.payable_type")
    payable_id = serializers.UUIDField()
    payer_id = serializers.UUIDField()
    amount = MoneyField()
    currency = serializers.CharField()
    status = serializers.CharField()
    gateway = serializers.CharField()
    provider_reference = serializers.CharField()
    transaction_id = serializers.CharField()
    payment_method = serializers.CharField()
    failure_reason = serializers.CharField()
    refunded_amount = MoneyField()
    invoice_number = serializers.SerializerMethodField()
    invoice_url = serializers.SerializerMethodField()
    refunds = RefundOutputSerializer(many=True)
    created_at = serializers.DateTimeField()
    authorized_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    failed_at = serializers.DateTimeField(allow_null=True)

    def get_invoice_number(self, payment: Payment) -> str | None:
        invoice = getattr(payment, "invoice", None)
        return invoice.number if invoice else None

    def get_invoice_url(self, payment: Payment) -> str | None:
        if getattr(payment, "invoice", None) is None:
            return None
        return f"/api/payments/{payment.id}/invoice"


@extend_schema_serializer(component_name="Payable")
class PayableOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    payable_type = serializers.CharField()
    payer_id = serializers.UUIDField()
    amount = MoneyField()
    currency = serializers.CharField()
    status = serializers.CharField()
    line_items = serializers.JSONField()
    created_at = serializers.DateTimeField()


def _payment_or_404(request: Request, payment_id: UUID) -> Payment:
    payment = payment_get(user=request.user, payment_id=payment_id)
    if payment is None:  # someone else's payment is as unknown as a missing one
        raise NotFound(f"No payment {payment_id}.")
    return payment


def _refused(exc: PaymentError) -> ApiError:
    return ApiError(status_code=exc.status, code=exc.code, message=exc.message, fields=exc.fields)


def _payment_created(request: Request, payment_id: UUID) -> Response:
    """201 with the payment as it is now (its refunds and invoice included)."""
    payment = payment_get(user=request.user, payment_id=payment_id)
    return Response(PaymentOutputSerializer(payment).data, status=status.HTTP_201_CREATED)


class PaymentListApi(APIView):
    @extend_schema_serializer(component_name="PaymentStart")
    class InputSerializer(serializers.Serializer):
        payable_type = serializers.ChoiceField(choices=Payable.Type.choices)
        payable_id = serializers.UUIDField()
        amount = MoneyField(min_value=0)
        currency = serializers.RegexField(r"^[A-Z]{3}$", max_length=3)
        card_token = serializers.CharField(max_length=100)

    @extend_schema(
        summary="Payments: a payer's own, or all of them for managers",
        parameters=[
            OpenApiParameter("status", str, enum=Payment.Status.values),
            OpenApiParameter("payable_type", str, enum=Payable.Type.values),
            OpenApiParameter("payable_id", str),
            OpenApiParameter("created_after", str, description="ISO-8601 date-time"),
            OpenApiParameter("created_before", str, description="ISO-8601 date-time"),
            OpenApiParameter("ordering", str, enum=["created_at", "-created_at", "amount",
                                                      "-amount"]),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int),
        ],
        responses={200: PaymentOutputSerializer(many=True), **ERROR_RESPONSES},
    )  # fmt: skip
    def get(self, request: Request) -> Response:
        payments = payment_list(user=request.user, filters=request.query_params)
        return page_response(request, self, payments, PaymentOutputSerializer)

    @extend_schema(
        summary="Pay for my own order (or appointment) with a card token",
        description=(
            "The amount and currency must be what is owed (`GET /api/payments/payables/{id}`). "
            "The answer is `pending`; the gateway's outcome arrives by webhook and is published "
            "as `payment.completed` or `payment.failed`. Simulator tokens: `tok_visa`, "
            "`tok_mastercard`, `tok_insufficient_funds`, `tok_card_declined`, `tok_timeout`, "
            "`tok_refund_fails`.\n\n"
            f"Send an `{IDEMPOTENCY_HEADER}` header to retry safely: the same key and body "
            "replay the first answer (`Idempotent-Replayed: true`) without charging again; the "
            "same key with another body is 409 `idempotency_key_reused`.\n\n"
            "404 `payable_not_found` (unknown, someone else's, or not learnt yet); 409 "
            "`already_paid`, `payable_closed`, `payment_in_progress`; 400 `amount_mismatch`, "
            "`currency_mismatch`, `invalid_card_token`."
        ),
        parameters=[OpenApiParameter(IDEMPOTENCY_HEADER, str, OpenApiParameter.HEADER)],
        request=InputSerializer,
        responses={201: PaymentOutputSerializer, **ERROR_RESPONSES},
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)

        def start() -> Response:
            try:
                payment = payment_start(payer_id=request.user.pk, **serializer.validated_data)
            except PaymentError as exc:
                raise _refused(exc) from exc
            return _payment_created(request, payment.id)

        return idempotent(request, start)


class PaymentDetailApi(APIView):
    @extend_schema(
        summary="One payment", responses={200: PaymentOutputSerializer, **ERROR_RESPONSES}
    )
    def get(self, request: Request, payment_id: UUID) -> Response:
        return Response(PaymentOutputSerializer(_payment_or_404(request, payment_id)).data)


class PaymentInvoiceApi(APIView):
    @extend_schema(
        summary="The invoice PDF of a completed payment (its payer and managers)",
        responses={
            (200, "application/pdf"): OpenApiResponse(description="The invoice PDF"),
            **ERROR_RESPONSES,
        },
    )
    def get(self, request: Request, payment_id: UUID) -> FileResponse:
        payment = _payment_or_404(request, payment_id)
        invoice = getattr(payment, "invoice", None)
        if invoice is None:
            raise NotFound(f"Payment {payment_id} has no invoice (it is not completed).")
        return FileResponse(
            invoice.file.open("rb"), content_type="application/pdf",
            filename=f"{invoice.number}.pdf",
        )  # fmt: skip


class PaymentRefundApi(APIView):
    permission_classes = [IsManager]

    @extend_schema_serializer(component_name="RefundRequest")
    class InputSerializer(serializers.Serializer):
        amount = MoneyField(min_value=0, required=False)
        reason = serializers.CharField(max_length=200, default="refunded_by_staff")

    @extend_schema(
        summary="Refund a captured payment, in full or in part (managers)",
        description="409 `not_refundable` or `refund_amount_invalid`. A refund the gateway "
        "refuses is recorded as failed (`payment.refund_failed`) and answered 201 too.",
        request=InputSerializer,
        responses={201: PaymentOutputSerializer, **ERROR_RESPONSES},
    )
    def post(self, request: Request, payment_id: UUID) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        payment = _payment_or_404(request, payment_id)

        def refund() -> Response:
            try:
                refund_create(
                    payment_id=payment.id, requested_by=str(request.user.pk),
                    **serializer.validated_data,
                )  # fmt: skip
            except PaymentError as exc:  # RefundError: a 409
                raise _refused(exc) from exc
            return _payment_created(request, payment.id)

        return idempotent(request, refund)


class PayableDetailApi(APIView):
    @extend_schema(
        summary="What is owed for one of my orders (or appointments)",
        responses={200: PayableOutputSerializer, **ERROR_RESPONSES},
    )
    def get(self, request: Request, payable_id: UUID) -> Response:
        payable = payable_get(user=request.user, payable_id=payable_id)
        if payable is None:
            raise NotFound(f"Nothing owed for {payable_id} (unknown, or not learnt yet).")
        return Response(PayableOutputSerializer(payable).data)


class PaymentWebhookApi(APIView):
    """The gateway's callbacks. No session or token: the signature is the authentication."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Gateway webhook (signed by the gateway; not for API clients)",
        description="400 `signature_missing`, `signature_invalid`, `timestamp_outside_window`, "
        "`malformed_webhook`; 404 `unknown_reference`; 409 `duplicate_delivery`. A refused "
        "delivery writes nothing.",
        request={"application/json": dict},
        responses={200: OpenApiResponse(description="Applied"), **ERROR_RESPONSES},
    )
    def post(self, request: Request) -> Response:
        gateway = gateway_get()
        try:
            notification = self._apply(gateway, request)
        except ApiError as exc:
            payment_webhooks_total.labels(gateway.name, exc.code).inc()
            raise
        payment_webhooks_total.labels(gateway.name, "applied").inc()
        return Response({"received": notification.delivery_id})

    def _apply(self, gateway: PaymentGateway, request: Request) -> GatewayNotification:
        try:
            notification = gateway.webhook_parse(headers=request.headers, body=request.body)
        except WebhookRejected as exc:
            raise ApiError(status_code=400, code=exc.code, message=exc.message) from exc
        try:
            with transaction.atomic(durable=True):
                payment_notification_apply(gateway=gateway.name, notification=notification)
        except DuplicateDelivery as exc:
            raise ApiError(
                status_code=status.HTTP_409_CONFLICT,
                code="duplicate_delivery",
                message=f"Delivery {notification.delivery_id} was applied before.",
            ) from exc
        except Payment.DoesNotExist as exc:
            raise ApiError(
                status_code=status.HTTP_404_NOT_FOUND,
                code="unknown_reference",
                message=f"No payment has reference {notification.provider_reference}.",
            ) from exc
        return notification
