"""Event types of the accounts app and the topic they travel on (key: the user's id)."""

from outbox.catalog import event_type_declare
from outbox.schemas import DATE_TIME, UUID, closed_object
from outbox.topics import topic_declare

USER_TOPIC = topic_declare(app="accounts", aggregate="user")

_ROLE = {"type": "string", "enum": ["customer", "manager", "inspector"]}
_PROFILE = {
    "id": UUID,
    "username": {"type": "string", "minLength": 1},
    "email": {"type": "string"},
    "first_name": {"type": "string"},
    "last_name": {"type": "string"},
    "phone": {"type": "string"},
    "role": _ROLE,
}


USER_REGISTERED = event_type_declare(
    name="user.registered",
    topic=USER_TOPIC,
    key_field="id",
    description="A user registered (seed 000's user.created fields, plus names, phone, source).",
    schema=closed_object(
        **_PROFILE,
        source={"type": "string", "enum": ["api", "admin", "demo"]},
        created_at=DATE_TIME,
    ),
)
USER_VERIFIED = event_type_declare(
    name="user.verified",
    topic=USER_TOPIC,
    key_field="id",
    description="A user confirmed their email address through the signed link.",
    schema=closed_object(id=UUID, email={"type": "string"}, verified_at=DATE_TIME),
)
USER_UPDATED = event_type_declare(
    name="user.updated",
    topic=USER_TOPIC,
    key_field="id",
    description="A user's profile or role changed; `updated_at` orders updates.",
    schema=closed_object(**_PROFILE, updated_at=DATE_TIME),
)
USER_DELETED = event_type_declare(
    name="user.deleted",
    topic=USER_TOPIC,
    key_field="id",
    description="A user deleted their account (soft: deactivated; history is kept).",
    schema=closed_object(id=UUID, deleted_at=DATE_TIME),
)
