"""Writes of the event backbone; `event_publish` is how every app writes an event."""
