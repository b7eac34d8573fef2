"""Event types of the accounts app and the topic they travel on (key: the user's id)."""

from outbox.catalog import event_type_declare
from outbox.topics import topic_declare

USER_TOPIC = topic_declare(app="accounts", aggregate="user")

_UUID = {"type": "string", "format": "uuid"}
_TIME = {"type": "string", "format": "date-time"}
_ROLE = {"type": "string", "enum": ["customer", "manager", "inspector"]}
_PROFILE = {
    "id": _UUID,
    "username": {"type": "string", "minLength": 1},
    "email": {"type": "string"},
    "first_name": {"type": "string"},
    "last_name": {"type": "string"},
    "phone": {"type": "string"},
    "role": _ROLE,
}


def _object(properties: dict, required: list[str]) -> dict:
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


USER_REGISTERED = event_type_declare(
    name="user.registered",
    topic=USER_TOPIC,
    key_field="id",
    description="A user registered (seed 000's user.created fields, plus names, phone, source).",
    schema=_object(
        {
            **_PROFILE,
            "source": {"type": "string", "enum": ["api", "admin", "demo"]},
            "created_at": _TIME,
        },
        [*_PROFILE, "source", "created_at"],
    ),
)
USER_VERIFIED = event_type_declare(
    name="user.verified",
    topic=USER_TOPIC,
    key_field="id",
    description="A user confirmed their email address through the signed link.",
    schema=_object(
        {"id": _UUID, "email": {"type": "string"}, "verified_at": _TIME},
        ["id", "email", "verified_at"],
    ),
)
USER_UPDATED = event_type_declare(
    name="user.updated",
    topic=USER_TOPIC,
    key_field="id",
    description="A user's profile or role changed; `updated_at` orders updates.",
    schema=_object({**_PROFILE, "updated_at": _TIME}, [*_PROFILE, "updated_at"]),
)
USER_DELETED = event_type_declare(
    name="user.deleted",
    topic=USER_TOPIC,
    key_field="id",
    description="A user deleted their account (soft: deactivated; history is kept).",
    schema=_object({"id": _UUID, "deleted_at": _TIME}, ["id", "deleted_at"]),
)
