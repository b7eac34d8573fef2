"""REST routes of the payments app, mounted under /api/."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
