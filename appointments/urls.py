"""REST routes of the appointments app, mounted under /api/."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
