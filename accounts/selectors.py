"""Reads of the accounts app that are more than one line; other apps read through these."""

from accounts.models import User


def user_exists(*, username: str) -> bool:
    return User.objects.filter(username=username).exists()
