"""What the orders app does when another app's event arrives (Kafka event handlers)."""
