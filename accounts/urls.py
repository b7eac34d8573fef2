"""REST routes of the accounts app, mounted under /api/."""

from django.urls import path

from accounts import apis

urlpatterns = [
    path("auth/token", apis.TokenObtainApi.as_view(), name="auth-token"),
    path("accounts/register", apis.RegisterApi.as_view(), name="accounts-register"),
    path("accounts/me", apis.MeApi.as_view(), name="accounts-me"),
    path(
        "accounts/me/verification-email",
        apis.VerificationEmailApi.as_view(),
        name="accounts-verification-email",
    ),
    path("accounts/verify-email", apis.EmailVerifyApi.as_view(), name="accounts-verify-email"),
    path("accounts/users", apis.UserListApi.as_view(), name="accounts-users"),
    path("accounts/users/<uuid:user_id>/role", apis.UserRoleApi.as_view(), name="accounts-role"),
]
