"""Serializer fields shared by every app's APIs."""

from typing import Any

from rest_framework import serializers


class MoneyField(serializers.DecimalField):
    """An amount as the API shows it: a string with two decimals ("4.50"), never a float."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", 12)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("coerce_to_string", True)
        super().__init__(**kwargs)
