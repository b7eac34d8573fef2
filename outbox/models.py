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


class InboxEntry(models.Model):
    """An event a consumer group has applied. Inserted in the transaction of the handler's
    effects; the unique (group, event_id) turns a redelivery into a skip."""

    group = models.CharField(max_length=100)
    event_id = models.UUIDField()
    event_type = models.CharField(max_length=100)
    processed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "inbox entries"
        constraints = [
            models.UniqueConstraint(fields=["group", "event_id"], name="outbox_inbox_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.group}: {self.event_type} {self.event_id}"


class ConsumerAttempt(models.Model):
    """A handler that failed on an event and will be retried (what `retrying` answers)."""

    group = models.CharField(max_length=100)
    event_id = models.UUIDField()
    event_type = models.CharField(max_length=100)
    attempts = models.PositiveIntegerField(default=0)
    first_attempt_at = models.DateTimeField()
    last_attempt_at = models.DateTimeField()
    last_error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["group", "event_id"], name="outbox_attempt_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.group}: {self.event_type} {self.event_id} x{self.attempts}"


class DeadLetter(models.Model):
    """An event a consumer group gave up on, also sent to `{EVENTS_ENV}.dlq.{group}`.
    Staff review it in the admin: replay it to the group, discard it, or mark it resolved."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending review"
        REPLAYED = "replayed", "Replayed"
        DISCARDED = "discarded", "Discarded"
        RESOLVED = "resolved", "Resolved"

    group = models.CharField(max_length=100)
    event_id = models.UUIDField(null=True, blank=True)  # none when the value was not JSON
    event_type = models.CharField(max_length=100, blank=True)
    aggregate_id = models.CharField(max_length=200, blank=True)
    topic = models.CharField(max_length=249)
    partition = models.IntegerField()
    offset = models.BigIntegerField()
    key = models.TextField(blank=True)
    value = models.BinaryField()
    headers = models.JSONField(default=list)
    error_class = models.CharField(max_length=200)
    error_message = models.TextField()
    traceback = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=1)
    first_attempt_at = models.DateTimeField()
    last_attempt_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    replayed_at = models.DateTimeField(null=True, blank=True)
    replayed_by = models.CharField(max_length=150, blank=True)
    discarded_at = models.DateTimeField(null=True, blank=True)
    discarded_by = models.CharField(max_length=150, blank=True)
    discard_reason = models.TextField(blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.CharField(max_length=150, blank=True)
    last_replay_error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["group", "topic", "partition", "offset"], name="outbox_deadletter_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["event_id"], name="outbox_deadletter_event_idx"),
            models.Index(fields=["aggregate_id"], name="outbox_deadletter_aggr_idx"),
        ]

    def __str__(self) -> str:
        where = f"{self.topic}/{self.partition}/{self.offset}"
        return f"{self.group}: {self.event_type or 'undecodable'} @ {where}"


class DiagnosticReceipt(models.Model):
    """A `diagnostic.ping` the `diagnostics` group applied: the canary's end of the path."""

    event_id = models.UUIDField(unique=True)
    key = models.CharField(max_length=200)
    seq = models.BigIntegerField()
    received_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"ping {self.key}#{self.seq}"
