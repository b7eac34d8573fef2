import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from accounts.models import User
from config.demo import DEMO_PRODUCTS, DEMO_USERS, demo_data_load
from orders.models import Product, ProductVariation

pytestmark = pytest.mark.django_db


def test_demo_data_gives_one_documented_login_per_role_and_a_superuser():
    demo_data_load()

    for username, password, role, superuser in DEMO_USERS:
        user = authenticate(username=username, password=password)
        assert user is not None, username
        assert user.role == role
        assert user.is_superuser == superuser
    assert {role for _, _, role, _ in DEMO_USERS} == set(User.Role.values)


def test_demo_data_loads_the_menu():
    demo_data_load()

    assert set(Product.objects.values_list("name", flat=True)) == set(DEMO_PRODUCTS)
    latte = ProductVariation.objects.get(product__name="Latte", name="Pumpkin Spice")
    assert str(latte.price) == "4.50"
    assert latte.stock > 0


def test_demo_data_is_loaded_once(capsys):
    call_command("demo_data")
    users, products = User.objects.count(), ProductVariation.objects.count()

    call_command("demo_data")

    assert (User.objects.count(), ProductVariation.objects.count()) == (users, products)
    assert "already loaded" in capsys.readouterr().out
