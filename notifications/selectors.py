"""Reads of the notifications app that are more than one line; other apps read through these."""
