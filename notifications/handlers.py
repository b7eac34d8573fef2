"""What the notifications app does when another app's event arrives (Kafka event handlers)."""
