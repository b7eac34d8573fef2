"""Channels WebSocket consumers of the orders app (routes in orders/routing.py).

Both send a snapshot read from the database first, then the live frames the `realtime`
consumer group pushes from Kafka (outbox.realtime.LiveConsumer has the protocol).
"""

from typing import Any
from uuid import UUID

from channels.db import database_sync_to_async

from accounts.permissions import user_is_manager
from orders.models import Order
from orders.realtime import BOARD_GROUP, order_card, order_group
from orders.selectors import order_live_get, orders_board_list
from outbox.realtime import CLOSE_FORBIDDEN, CLOSE_NOT_FOUND, LiveConsumer, LiveRefused


def _order_customer(order_id: UUID) -> UUID | None:
    return Order.objects.filter(pk=order_id).values_list("customer_id", flat=True).first()


class OrderTrackingConsumer(LiveConsumer):
    """`/ws/orders/{order_id}/`: one order, for its customer or a manager (others: 4403)."""

    @property
    def order_id(self) -> UUID:
        return self.scope["url_route"]["kwargs"]["order_id"]

    async def live_groups(self, user: Any) -> list[str]:
        customer_id = await database_sync_to_async(_order_customer)(self.order_id)
        if user_is_manager(user):
            if customer_id is None:
                raise LiveRefused(CLOSE_NOT_FOUND)
        elif customer_id is None or customer_id != user.pk:
            raise LiveRefused(CLOSE_FORBIDDEN)  # someone else's order is as unknown as none
        return [order_group(self.order_id)]

    def live_snapshot(self, user: Any) -> tuple[dict[str, Any], dict[str, int]]:
        order = order_live_get(order_id=self.order_id)
        assert order is not None  # orders are never deleted
        card = order_card(order)
        versions = {card["id"]: card["version"]}
        return {"type": "snapshot", "order": card, "versions": versions}, versions


class OrderBoardConsumer(LiveConsumer):
    """`/ws/orders/`: the managers' live board, every order's creation and status changes."""

    async def live_groups(self, user: Any) -> list[str]:
        if not user_is_manager(user):
            raise LiveRefused(CLOSE_FORBIDDEN)
        return [BOARD_GROUP]

    def live_snapshot(self, user: Any) -> tuple[dict[str, Any], dict[str, int]]:
        cards = [order_card(order) for order in orders_board_list()]
        versions = {card["id"]: card["version"] for card in cards}
        return {"type": "snapshot", "orders": cards, "versions": versions}, versions
