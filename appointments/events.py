"""Event types of the appointments app and the topics they travel on."""

from outbox.topics import topic_declare

APPOINTMENT_TOPIC = topic_declare(app="appointments", aggregate="appointment")
INSPECTION_TOPIC = topic_declare(app="appointments", aggregate="inspection")
# Seed 002 keeps certificate events 30 days.
CERTIFICATE_TOPIC = topic_declare(app="appointments", aggregate="certificate", retention_days=30)
