"""Event types of the notifications app and the topic they travel on."""

from outbox.topics import topic_declare

# Seed 002 keeps notification events 3 days.
NOTIFICATION_TOPIC = topic_declare(app="notifications", aggregate="notification", retention_days=3)
