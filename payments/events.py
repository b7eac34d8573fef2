"""Event types of the payments app and the topic they travel on."""

from outbox.topics import topic_declare

# Seed 002 keeps payment events 30 days.
PAYMENT_TOPIC = topic_declare(app="payments", aggregate="payment", retention_days=30)
