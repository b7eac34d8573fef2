"""Server-rendered pages of the orders app: a customer's live tracking page and the
managers' live board. Both are thin: the data comes over the WebSocket (orders.consumers)."""

import json
from uuid import UUID

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.permissions import user_is_manager
from orders.models import Order
from orders.selectors import order_get, order_list

S = Order.Status
PICKUP_STEPS = (S.WAITING, S.PREPARATION, S.READY, S.DELIVERED)
SHIPPING_STEPS = (S.WAITING, S.PREPARATION, S.READY, S.SHIPPED, S.DELIVERED)
BOARD_COLUMNS = (
    S.PENDING_PAYMENT, S.WAITING, S.PREPARATION, S.READY, S.SHIPPED, S.DELIVERED, S.CANCELLED,
)  # fmt: skip


@login_required
def orders_mine_page(request: HttpRequest) -> HttpResponse:
    """`/orders/`: my latest orders (managers: everyone's), each linking to its live page."""
    orders = order_list(user=request.user, filters={})[:50]
    context = {"orders": orders, "is_manager": user_is_manager(request.user)}
    return render(request, "orders/mine.html", context)


@login_required
def order_track_page(request: HttpRequest, order_id: UUID) -> HttpResponse:
    """`/orders/{id}/track/`: the order and a status timeline that advances live."""
    order = order_get(user=request.user, order_id=order_id)
    if order is None:  # someone else's order is as unknown as a missing one
        raise Http404("No such order.")
    steps = SHIPPING_STEPS if order.fulfillment == Order.Fulfillment.SHIPPING else PICKUP_STEPS
    context = {
        "order": order,
        "steps": [(step.value, step.label) for step in steps],
        "status_labels": json.dumps(dict(S.choices)),
        "heartbeat_s": settings.REALTIME_HEARTBEAT_S,
    }
    return render(request, "orders/track.html", context)


@login_required
def orders_board_page(request: HttpRequest) -> HttpResponse:
    """`/orders/board/`: managers' columns per status; buttons move orders through the API."""
    if not user_is_manager(request.user):
        raise PermissionDenied
    context = {
        "columns": [(status.value, status.label) for status in BOARD_COLUMNS],
        "heartbeat_s": settings.REALTIME_HEARTBEAT_S,
    }
    return render(request, "orders/board.html", context)
