"""REST routes of the orders app, mounted under /api/."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
