"""Thin DRF views of the notifications app: validate input, call one service, serialize output."""
