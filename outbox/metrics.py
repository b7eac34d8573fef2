"""Prometheus metrics of the event backbone (base units, seed 001's names)."""

from prometheus_client import Counter, Gauge, Histogram

events_published_total = Counter(
    "events_published_total", "Events acknowledged by Kafka.", ["event_type", "topic"]
)
event_publish_duration_seconds = Histogram(
    "event_publish_duration_seconds",
    "From event_publish() to Kafka's acknowledgement of the event.",
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
events_publish_errors_total = Counter(
    "events_publish_errors_total", "Failed attempts to send an event.", ["event_type", "error"]
)
events_parked_total = Counter(
    "events_parked_total", "Events the relay gave up on, parked for staff.", ["event_type"]
)
outbox_pending_events = Gauge("outbox_pending_events", "Outbox rows not yet published.")
outbox_parked_events = Gauge("outbox_parked_events", "Outbox rows parked after their attempts.")
outbox_oldest_pending_age_seconds = Gauge(
    "outbox_oldest_pending_age_seconds", "Age of the oldest unpublished outbox row."
)
kafka_producer_queue_size = Gauge(
    "kafka_producer_queue_size", "Messages in the producer's queue, not yet acknowledged."
)
outbox_relay_shards_owned = Gauge("outbox_relay_shards_owned", "Outbox shards this relay owns.")

# --- consumers ---------------------------------------------------------------------------

events_consumed_total = Counter(
    "events_consumed_total",
    "Records a consumer group handled, by outcome "
    "(processed, duplicate, retried, dead_lettered, ignored).",
    ["group", "event_type", "outcome"],
)
event_processing_duration_seconds = Histogram(
    "event_processing_duration_seconds",
    "Time to apply one event (inbox row and handler), in its transaction.",
    ["group", "event_type"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
event_processing_errors_total = Counter(
    "event_processing_errors_total", "Handler failures.", ["group", "event_type"]
)
events_dead_lettered_total = Counter(
    "events_dead_lettered_total", "Records sent to the group's dead letters.", ["group"]
)
kafka_consumer_lag = Gauge(
    "kafka_consumer_lag",
    "Records between the group's position and the end of the partition.",
    ["group", "topic", "partition"],
)
