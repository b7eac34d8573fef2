"""The backbone's own consumer group: `diagnostics` receives the canary, proving the whole
path (outbox → relay → Kafka → consumer → inbox and effects) works."""

from outbox.consumer import Event
from outbox.groups import handles
from outbox.models import DiagnosticReceipt


@handles("diagnostic.ping", group="diagnostics")
def diagnostic_receipt_record(event: Event) -> None:
    """Record the ping: one row per event, written with the inbox row."""
    DiagnosticReceipt.objects.create(
        event_id=event.event_id, key=event.aggregate_id, seq=event.data["seq"]
    )
