"""Channels WebSocket consumers of the appointments app."""
