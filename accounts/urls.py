"""REST routes of the accounts app, mounted under /api/."""

from django.urls import path

from accounts import apis

urlpatterns = [
    path("auth/token", apis.TokenObtainApi.as_view(), name="auth-token"),
    path("accounts/me", apis.MeApi.as_view(), name="accounts-me"),
]
