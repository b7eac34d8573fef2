"""WebSocket routes of the orders app, gathered by config.routing."""

from django.urls import path

from orders.consumers import OrderBoardConsumer, OrderTrackingConsumer

websocket_urlpatterns = [
    path("ws/orders/", OrderBoardConsumer.as_asgi(), name="ws-orders-board"),
    path("ws/orders/<uuid:order_id>/", OrderTrackingConsumer.as_asgi(), name="ws-orders-track"),
]
