"""Channels WebSocket consumers of the payments app."""
