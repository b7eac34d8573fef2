"""Thin DRF views of the appointments app: validate input, call one service, serialize output."""
