"""REST routes of the payments app, mounted under /api/."""

from django.urls import path

from payments import apis

urlpatterns = [
    path("payments", apis.PaymentListApi.as_view(), name="payments"),
    path("payments/webhook", apis.PaymentWebhookApi.as_view(), name="payments-webhook"),
    path(
        "payments/payables/<uuid:payable_id>",
        apis.PayableDetailApi.as_view(),
        name="payments-payable",
    ),
    path("payments/<uuid:payment_id>", apis.PaymentDetailApi.as_view(), name="payments-detail"),
    path(
        "payments/<uuid:payment_id>/invoice",
        apis.PaymentInvoiceApi.as_view(),
        name="payments-invoice",
    ),
    path(
        "payments/<uuid:payment_id>/refund",
        apis.PaymentRefundApi.as_view(),
        name="payments-refund",
    ),
]
