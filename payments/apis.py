"""Thin DRF views of the payments app: validate input, call one service, serialize output."""
