"""Channels WebSocket consumers of the notifications app."""
