"""Role-based permissions, shared by every app's APIs and admin pages."""

from django.http import HttpRequest
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.models import User


def user_is_manager(user: object) -> bool:
    return bool(
        getattr(user, "is_authenticated", False)
        and (user.is_superuser or user.role == User.Role.MANAGER)  # type: ignore[attr-defined]
    )


class IsManager(BasePermission):
    """Managers (and superusers)."""

    message = "Only managers may do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return user_is_manager(request.user)


class IsCustomer(BasePermission):
    """Customers (and managers acting for them)."""

    message = "Only customers may do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(
            user.is_authenticated and (user.role == User.Role.CUSTOMER or user_is_manager(user))
        )


class ManagersOnlyAdminMixin:
    """Admin pages for managers (and superusers); no per-model permissions needed."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return user_is_manager(request.user)

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return user_is_manager(request.user)

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return user_is_manager(request.user)

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return user_is_manager(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return user_is_manager(request.user)
