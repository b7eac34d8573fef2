"""WebSocket routes of every app, gathered for config.asgi."""

from django.urls import URLPattern, URLResolver

# The real-time issue adds the order tracking routes from orders.consumers.
websocket_urlpatterns: list[URLPattern | URLResolver] = []
