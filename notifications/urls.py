"""REST routes of the notifications app, mounted under /api/."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
