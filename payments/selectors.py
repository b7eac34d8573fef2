"""Reads of the payments app that are more than one line; other apps read through these."""
