"""Reads of the event backbone: event status, pending counts."""
