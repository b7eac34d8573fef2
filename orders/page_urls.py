"""Page routes of the orders app, mounted under /orders/ (REST routes: orders/urls.py)."""

from django.urls import path

from orders import views

urlpatterns = [
    path("", views.orders_mine_page, name="orders-page-mine"),
    path("board/", views.orders_board_page, name="orders-page-board"),
    path("<uuid:order_id>/track/", views.order_track_page, name="orders-page-track"),
]
