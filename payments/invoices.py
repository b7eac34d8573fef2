"""Invoice PDFs: numbered without gaps, drawn with reportlab, kept through Django's storage.

A refund redraws the invoice with a refund note under the totals; the number never changes.
"""

from __future__ import annotations

import io
from decimal import Decimal

from django.core.files.base import ContentFile
from django.db.models import F
from django.utils import timezone
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from outbox.schemas import money_text
from payments.models import Invoice, InvoiceCounter, Payment


def invoice_number_next(*, year: int) -> str:
    """The year's next number, e.g. INV-2026-000042. Call inside the issuing transaction: the
    counter row stays locked until it commits, so numbers follow each other without gaps."""
    InvoiceCounter.objects.get_or_create(year=year)
    counter = InvoiceCounter.objects.select_for_update().get(year=year)
    counter.last_number = F("last_number") + 1
    counter.save(update_fields=["last_number"])
    counter.refresh_from_db(fields=["last_number"])
    return f"INV-{year}-{counter.last_number:06d}"


def invoice_issue(*, payment: Payment) -> Invoice:
    """Number and draw the invoice of a completed payment (inside its transaction)."""
    now = timezone.now()
    invoice = Invoice(payment=payment, number=invoice_number_next(year=now.year), issued_at=now)
    _draw(invoice)
    invoice.save()
    return invoice


def invoice_redraw(*, invoice: Invoice) -> Invoice:
    """Draw the invoice again (after a refund) under a new file name; the old file goes."""
    old_name = invoice.file.name
    _draw(invoice)
    invoice.save(update_fields=["file", "updated_at"])
    if old_name and old_name != invoice.file.name:
        invoice.file.storage.delete(old_name)
    return invoice


def _draw(invoice: Invoice) -> None:
    """Put the invoice's PDF in storage (the row is saved by the caller)."""
    invoice.file.save(f"{invoice.number}.pdf", ContentFile(invoice_pdf(invoice)), save=False)


def invoice_pdf(invoice: Invoice) -> bytes:
    """The invoice as PDF bytes: number, payer, lines, totals, payment reference, refunds."""
    payment = invoice.payment
    payable = payment.payable
    styles = getSampleStyleSheet()
    currency = payment.currency
    lines = [["Item", "Qty", "Unit price", "Amount"]]
    for item in payable.line_items:
        unit = Decimal(item["unit_price"])
        lines.append([item["description"], str(item["quantity"]), f"{money_text(unit)} {currency}",
                      f"{money_text(unit * item['quantity'])} {currency}"])  # fmt: skip
    lines.append(["", "", "Total", f"{money_text(payment.amount)} {currency}"])
    table = Table(lines, colWidths=[85 * mm, 15 * mm, 35 * mm, 35 * mm])
    table.setStyle(
        TableStyle(
            [
                ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
                ("LINEABOVE", (0, -1), (-1, -1), 0.5, colors.black),
                ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("FONTNAME", (0, -1), (-1, -1), "Helvetica-Bold"),
            ]
        )
    )
    paid_at = payment.completed_at or invoice.issued_at
    story = [
        Paragraph(f"Invoice {invoice.number}", styles["Title"]),
        Paragraph(f"Issued {invoice.issued_at:%Y-%m-%d %H:%M} UTC", styles["Normal"]),
        Paragraph(f"Bill to: customer {payment.payer_id}", styles["Normal"]),
        Paragraph(f"For: {payable.payable_type} {payable.id}", styles["Normal"]),
        Spacer(1, 8 * mm),
        table,
        Spacer(1, 8 * mm),
        Paragraph(
            f"Paid {paid_at:%Y-%m-%d %H:%M} UTC by {payment.payment_method or 'card'}; "
            f"payment {payment.id}, transaction {payment.transaction_id}.",
            styles["Normal"],
        ),
    ]
    refunds = list(payment.refunds.filter(status="succeeded").order_by("created_at", "id"))
    if refunds:
        story += [Spacer(1, 6 * mm), Paragraph("Refund note", styles["Heading2"])]
        for refund in refunds:
            story.append(
                Paragraph(
                    f"Refunded {money_text(refund.amount)} {currency} on "
                    f"{refund.created_at:%Y-%m-%d %H:%M} UTC ({refund.reason}); refund "
                    f"{refund.id}.",
                    styles["Normal"],
                )
            )
        story.append(
            Paragraph(
                f"Total refunded: {money_text(payment.refunded_amount)} {currency}",
                styles["Normal"],
            )
        )
    buffer = io.BytesIO()
    SimpleDocTemplate(buffer, pagesize=A4, title=f"Invoice {invoice.number}").build(story)
    return buffer.getvalue()
