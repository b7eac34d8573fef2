"""Building blocks of the event catalog's JSON Schemas, shared by every app's events.py."""

from decimal import Decimal
from typing import Any

UUID = {"type": "string", "format": "uuid"}
DATE_TIME = {"type": "string", "format": "date-time"}
# Money travels as a string with two decimals ("4.50"), never as a float.
MONEY = {"type": "string", "pattern": r"^\d+\.\d{2}$"}
CURRENCY = {"type": "string", "pattern": "^[A-Z]{3}$"}


def closed_object(**properties: dict[str, Any]) -> dict[str, Any]:
    """An object schema: every property required, no others allowed."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def money_text(amount: Decimal) -> str:
    """An amount as the MONEY schema wants it."""
    return str(amount.quantize(Decimal("0.01")))
