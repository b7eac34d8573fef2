"""Admin registrations of the payments app: payments with their refunds, invoice and event
history; staff refund from here through the same service as the API."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from accounts.permissions import ManagersOnlyAdminMixin, user_is_manager
from payments.models import Payable, Payment, PaymentEventRecord, Refund, WebhookDelivery
from payments.services import RefundError, refund_create


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return user_is_manager(request.user)

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class RefundInline(ReadOnlyInline):
    model = Refund
    fields = ["id", "amount", "reason", "status", "failure_reason", "requested_by", "created_at"]
    readonly_fields = fields


class PaymentEventRecordInline(ReadOnlyInline):
    model = PaymentEventRecord
    verbose_name_plural = "Event history"
    fields = ["occurred_at", "event_type", "event_id", "data"]
    readonly_fields = fields


class ReadOnlyAdmin(ManagersOnlyAdminMixin, admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ["id", "payable_id", "amount", "currency", "status", "payment_method",
                    "refunded_amount", "created_at"]  # fmt: skip
    list_filter = ["status", "gateway", "created_at"]
    search_fields = ["id", "payable__id", "provider_reference", "transaction_id", "payer_id"]
    date_hierarchy = "created_at"
    readonly_fields = ["invoice_link"]
    inlines = [RefundInline, PaymentEventRecordInline]
    actions = ["refund_in_full"]

    @admin.display(description="Invoice")
    def invoice_link(self, payment: Payment) -> str:
        invoice = getattr(payment, "invoice", None)
        if invoice is None:
            return "-"
        url = reverse("payments-invoice", kwargs={"payment_id": payment.id})
        return format_html('<a href="{}">{}</a>', url, invoice.number)

    @admin.action(description="Refund the selected payments in full")
    def refund_in_full(self, request: HttpRequest, queryset: QuerySet[Payment]) -> None:
        for payment in queryset.order_by("created_at"):
            try:
                refund = refund_create(
                    payment_id=payment.id,
                    reason=f"refunded_by_staff: {request.user.get_username()}",
                    requested_by=str(request.user.pk),
                )
            except RefundError as exc:
                self.message_user(request, f"{payment.id}: {exc.message}", messages.WARNING)
                continue
            level = messages.SUCCESS if refund.status == Refund.Status.SUCCEEDED else messages.ERROR
            self.message_user(request, f"{payment.id}: refund {refund.status}", level)


@admin.register(Payable)
class PayableAdmin(ReadOnlyAdmin):
    list_display = ["id", "payable_type", "payer_id", "amount", "currency", "status", "created_at"]
    list_filter = ["payable_type", "status"]
    search_fields = ["id", "payer_id"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["delivery_id", "gateway", "kind", "provider_reference", "received_at"]
    list_filter = ["gateway", "kind"]
    search_fields = ["delivery_id", "provider_reference"]
