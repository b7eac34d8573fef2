"""WebSocket routes of every app, gathered for config.asgi."""

from django.urls import URLPattern, URLResolver

from orders.routing import websocket_urlpatterns as orders_websocket_urlpatterns

websocket_urlpatterns: list[URLPattern | URLResolver] = [*orders_websocket_urlpatterns]
