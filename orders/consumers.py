"""Channels WebSocket consumers of the orders app."""
