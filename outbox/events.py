"""Event types owned by the backbone itself."""

from outbox.topics import topic_declare

# The canary topic: load tests, benchmarks and end-to-end checks publish here.
DIAGNOSTIC_TOPIC = topic_declare(app="outbox", aggregate="diagnostic", retention_days=1)
