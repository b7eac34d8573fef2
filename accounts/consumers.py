"""Channels WebSocket consumers of the accounts app."""
