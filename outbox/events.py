"""Event types owned by the backbone itself."""

from outbox.catalog import event_type_declare
from outbox.topics import topic_declare

DIAGNOSTIC_TOPIC = topic_declare(app="outbox", aggregate="diagnostic", retention_days=1)

# The canary: load tests, benchmarks and end-to-end checks publish it, with a key of their
# choosing, to prove the path from the database to Kafka works.
DIAGNOSTIC_PING = event_type_declare(
    name="diagnostic.ping",
    topic=DIAGNOSTIC_TOPIC,
    aggregate_type="diagnostic",
    key_field=None,
    description="A canary event; proves the path from the database to Kafka.",
    priority="low",
    schema={
        "type": "object",
        "properties": {
            "seq": {"type": "integer"},
            "note": {"type": "string", "maxLength": 1_100_000},
        },
        "required": ["seq"],
        "additionalProperties": False,
    },
)
