"""Reads of the appointments app that are more than one line; other apps read through these."""
