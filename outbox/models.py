"""Tables of the event backbone: the outbox, the consumers' inbox and the dead letters."""

from django.db import models


class OutboxEvent(models.Model):
    """One unsent event, written in the transaction of the change it describes.

    `value` is the encoded envelope exactly as it goes to Kafka, so the relay does no
    encoding and what was validated is what is sent. Once Kafka acknowledges it, the relay
    deletes the row and records a `PublishedEvent` in the same transaction: the outbox stays
    a short queue, and a delete costs far less than rewriting a wide row and its indexes.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PARKED = "parked", "Parked (gave up, waiting for staff)"

    id = models.BigAutoField(primary_key=True)
    event_id = models.UUIDField(unique=True, editable=False)
    event_type = models.CharField(max_length=100)
    version = models.PositiveSmallIntegerField()
    source = models.CharField(max_length=50)
    aggregate_type = models.CharField(max_length=100)
    aggregate_id = models.CharField(max_length=200)
    topic = models.CharField(max_length=249)
    key = models.CharField(max_length=200)
    shard = models.SmallIntegerField()
    priority = models.CharField(max_length=10, default="normal")
    correlation_id = models.CharField(max_length=128, blank=True)
    causation_id = models.UUIDField(null=True, blank=True)
    user_id = models.CharField(max_length=64, blank=True)
    value = models.BinaryField()
    # W3C trace context of the writing request, forwarded as Kafka headers.
    traceparent = models.CharField(max_length=55, blank=True)
    tracestate = models.CharField(max_length=512, blank=True)
    created_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        indexes = [
            # The relay's scan: pending rows in id order.
            models.Index(
                fields=["id"],
                condition=models.Q(status="pending"),
                name="outbox_pending_idx",
            ),
            # Rows that hold their key back: waiting for a retry, or parked.
            models.Index(
                fields=["topic", "key"],
                condition=models.Q(status="parked")
                | models.Q(status="pending", next_attempt_at__isnull=False),
                name="outbox_held_idx",
            ),
            models.Index(fields=["aggregate_type", "aggregate_id"], name="outbox_aggregate_idx"),
        ]
        permissions = [("publish_event", "Can publish events through the Event Service API")]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"


class PublishedEvent(models.Model):
    """The record of an event Kafka acknowledged: where it landed, kept for
    OUTBOX_RETENTION_DAYS and then deleted in chunks by a Celery beat task."""

    event_id = models.UUIDField(primary_key=True)
    event_type = models.CharField(max_length=100)
    topic = models.CharField(max_length=249)
    key = models.CharField(max_length=200)
    kafka_partition = models.IntegerField()
    kafka_offset = models.BigIntegerField()
    created_at = models.DateTimeField()
    published_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"
