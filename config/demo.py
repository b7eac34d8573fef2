"""Demo data for `make run`: one login per role and seed 000's menu. Loaded once."""

from decimal import Decimal

from accounts.models import User
from accounts.selectors import user_exists
from accounts.services import user_create
from orders.selectors import product_exists
from orders.services import VariationSpec, product_create

# username, password, role, superuser. The README lists these logins.
DEMO_USERS = [
    ("admin", "admin-pass", User.Role.MANAGER, True),
    ("manager", "manager-pass", User.Role.MANAGER, False),
    ("customer", "customer-pass", User.Role.CUSTOMER, False),
    ("inspector", "inspector-pass", User.Role.INSPECTOR, False),
]

DEMO_PRODUCTS = {
    "Latte": [("Classic", "3.90"), ("Pumpkin Spice", "4.50"), ("Vanilla", "4.20")],
    "Espresso": [("Single", "2.20"), ("Double", "2.90")],
    "Cappuccino": [("Classic", "3.60"), ("Oat Milk", "3.90")],
    "Donuts": [("Boston Cream", "3.50"), ("Glazed", "2.80"), ("Chocolate", "3.20")],
    "Croissant": [("Butter", "2.60"), ("Almond", "3.40")],
}


def demo_data_load() -> list[str]:
    """Create what is missing; answer what was created (empty on a second run)."""
    created = []
    for username, password, role, superuser in DEMO_USERS:
        if not user_exists(username=username):
            user_create(
                username=username,
                password=password,
                email=f"{username}@example.com",
                role=role,
                is_staff=role == User.Role.MANAGER,
                is_superuser=superuser,
                source="demo",
            )
            created.append(f"user {username}")
    for name, variations in DEMO_PRODUCTS.items():
        if not product_exists(name=name):
            product_create(
                name=name,
                variations=[
                    VariationSpec(name=variation, price=Decimal(price), stock=50)
                    for variation, price in variations
                ],
            )
            created.append(f"product {name}")
    return created
