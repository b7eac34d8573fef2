"""Writes of the accounts app: keyword-only `<entity>_<action>` functions, each atomic, each
writing its user events in the same transaction."""

from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from accounts.models import User
from outbox.services import event_publish

EMAIL_VERIFY_SALT = "accounts.email-verify"
PROFILE_FIELDS = ("username", "email", "first_name", "last_name", "phone", "role")


def _profile(user: User) -> dict[str, Any]:
    return {"id": str(user.id), **{field: getattr(user, field) for field in PROFILE_FIELDS}}


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str,
    email: str = "",
    role: str = User.Role.CUSTOMER,
    first_name: str = "",
    last_name: str = "",
    phone: str = "",
    is_staff: bool = False,
    is_superuser: bool = False,
    source: str = "admin",
) -> User:
    """Create a user with a hashed password; `user.registered`."""
    user = User(
        username=username,
        email=User.objects.normalize_email(email),
        role=role,
        first_name=first_name,
        last_name=last_name,
        phone=phone,
        # Managers work in the admin too (products, dead letters).
        is_staff=is_staff or is_superuser or role == User.Role.MANAGER,
        is_superuser=is_superuser,
    )
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    event_publish(
        event_type="user.registered",
        data={**_profile(user), "source": source, "created_at": user.created_at},
        user_id=str(user.id),
    )
    return user


@transaction.atomic
def user_register(
    *,
    username: str,
    password: str,
    email: str,
    first_name: str = "",
    last_name: str = "",
    phone: str = "",
) -> User:
    """A customer signs up: the password must pass the validators, the email be unused;
    a verification link is mailed once the transaction commits."""
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": ["A user with this email already exists."]})
    candidate = User(username=username, email=email, first_name=first_name, last_name=last_name)
    try:
        validate_password(password, user=candidate)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from exc
    user = user_create(
        username=username,
        password=password,
        email=email,
        first_name=first_name,
        last_name=last_name,
        phone=phone,
        role=User.Role.CUSTOMER,
        source="api",
    )
    transaction.on_commit(lambda: user_verification_email_send(user=user))
    return user


def user_verification_token(*, user: User) -> str:
    """A signed, expiring token naming the user and the address it verifies."""
    return signing.dumps({"id": str(user.id), "email": user.email}, salt=EMAIL_VERIFY_SALT)


def user_verification_email_send(*, user: User) -> None:
    """Mail the verification link (through Django's email backend; best effort)."""
    token = user_verification_token(user=user)
    link = f"{settings.PUBLIC_BASE_URL}/api/accounts/verify-email?token={token}"
    send_mail(
        subject="Confirm your email address",
        message=f"Hello {user.first_name or user.username},\n\nConfirm your address: {link}\n",
        from_email=None,
        recipient_list=[user.email],
    )


@transaction.atomic
def user_email_verify(*, token: str) -> User:
    """Mark the address in a valid, unexpired token verified; `user.verified` (once)."""
    try:
        claim = signing.loads(
            token, salt=EMAIL_VERIFY_SALT, max_age=settings.ACCOUNTS_EMAIL_VERIFY_MAX_AGE_S
        )
    except signing.SignatureExpired as exc:
        raise ValidationError({"token": ["This link has expired; ask for a new one."]}) from exc
    except signing.BadSignature as exc:
        raise ValidationError({"token": ["This link is not valid."]}) from exc
    user = User.objects.select_for_update().filter(pk=claim["id"], is_active=True).first()
    if user is None or user.email != claim["email"]:
        raise ValidationError({"token": ["This link no longer matches an account."]})
    if user.email_verified_at is None:
        user.email_verified_at = timezone.now()
        user.save(update_fields=["email_verified_at"])
        event_publish(
            event_type="user.verified",
            data={"id": str(user.id), "email": user.email, "verified_at": user.email_verified_at},
        )
    return user


@transaction.atomic
def user_update(*, user: User, **changes: Any) -> User:
    """Change profile fields (names, email, phone, role); `user.updated` when any changed.
    A new email address must be verified again."""
    user = User.objects.select_for_update().get(pk=user.pk)
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise ValueError(f"not profile fields: {sorted(unknown)}")
    changed = {field: value for field, value in changes.items() if getattr(user, field) != value}
    if not changed:
        return user
    if "email" in changed:
        if User.objects.filter(email__iexact=changed["email"]).exclude(pk=user.pk).exists():
            raise ValidationError({"email": ["A user with this email already exists."]})
        user.email_verified_at = None
    for field, value in changed.items():
        setattr(user, field, value)
    if "role" in changed and not user.is_superuser:
        user.is_staff = user.role == User.Role.MANAGER  # the admin follows the role
    user.updated_at = timezone.now()
    user.full_clean(exclude=["password"])
    user.save()
    event_publish(event_type="user.updated", data={**_profile(user), "updated_at": user.updated_at})
    return user


def user_role_change(*, user: User, role: str) -> User:
    """A manager changes a user's role (managers get the admin); `user.updated`."""
    return user_update(user=user, role=role)


@transaction.atomic
def user_delete(*, user: User) -> User:
    """Delete one's account: deactivated (history stays), tokens revoked; `user.deleted`."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.is_active:
        return user
    user.is_active = False
    user.updated_at = timezone.now()
    user.save(update_fields=["is_active", "updated_at"])
    Token.objects.filter(user=user).delete()
    event_publish(
        event_type="user.deleted", data={"id": str(user.id), "deleted_at": user.updated_at}
    )
    return user


@transaction.atomic
def token_revoke(*, user: User) -> None:
    """Log out everywhere: the user's API token stops working."""
    Token.objects.filter(user=user).delete()
