"""Event types of the orders app and the topics they travel on."""

from outbox.topics import topic_declare

ORDER_TOPIC = topic_declare(app="orders", aggregate="order")
CART_TOPIC = topic_declare(app="orders", aggregate="cart")
PRODUCT_TOPIC = topic_declare(app="orders", aggregate="product")
