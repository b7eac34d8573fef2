"""Thin DRF views of the orders app: validate input, call one service, serialize output."""
