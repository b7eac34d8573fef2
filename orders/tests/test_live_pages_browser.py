"""A real browser: headless Chromium (Debian's package) driven by Selenium through
/usr/bin/chromedriver. A manager advances an order on the live board while the customer's
tracking page, in a second browser with its own profile and cookies, shows the new status
without a reload. Screenshots are saved under test-artifacts/."""

import tempfile
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from accounts.models import User
from accounts.services import user_create
from orders.models import Customer
from orders.services import (
    VariationSpec,
    cart_checkout,
    cart_item_set,
    order_payment_complete,
    product_create,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"


@pytest.fixture
def browsers() -> Iterator[Callable[[], WebDriver]]:
    """Start headless Chromium browsers, each with a fresh profile (its own cookies)."""
    drivers: list[WebDriver] = []
    profiles: list[tempfile.TemporaryDirectory] = []

    def start() -> WebDriver:
        profile = tempfile.TemporaryDirectory(prefix="chromium-profile-")
        profiles.append(profile)
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for argument in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                         "--disable-background-networking", "--disable-component-update",
                         "--disable-sync", "--disable-dev-shm-usage", "--window-size=412,915",
                         f"--user-data-dir={profile.name}"):  # fmt: skip
            options.add_argument(argument)
        driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
        drivers.append(driver)
        return driver

    yield start
    for driver in drivers:
        driver.quit()
    for profile in profiles:
        profile.cleanup()


def _log_in(driver: WebDriver, base_url: str, path: str, username: str) -> None:
    driver.get(f"{base_url}{path}")  # redirected to the login page, then back
    driver.find_element(By.ID, "id_username").send_keys(username)
    driver.find_element(By.ID, "id_password").send_keys("pw-123456")
    driver.find_element(By.ID, "login").click()
    WebDriverWait(driver, 30).until(lambda d: d.current_url == f"{base_url}{path}")
    _wait_live(driver)


def _wait_live(driver: WebDriver) -> None:
    WebDriverWait(driver, 30).until(
        lambda d: d.find_element(By.ID, "connection").get_attribute("data-state") == "live"
    )


def _status_on_tracking_page(driver: WebDriver) -> str:
    return driver.find_element(By.ID, "status").get_attribute("data-status")


def _card_column(driver: WebDriver, order_id: str) -> str | None:
    return driver.execute_script(
        "const card = document.getElementById(arguments[0]);"
        "return card ? card.closest('.column').dataset.status : null;",
        f"order-{order_id}",
    )


def _advance(board: WebDriver, order_id: str, move: str) -> None:
    board.find_element(By.CSS_SELECTOR, f"#order-{order_id} button[data-move='{move}']").click()


def test_a_manager_advances_an_order_and_the_customers_page_follows_live(live_stack, browsers):
    customer = user_create(username="cleo", password="pw-123456")
    Customer.objects.create(user_id=customer.pk, username="cleo", updated_at=timezone.now())
    user_create(username="mona", password="pw-123456", role=User.Role.MANAGER)
    variation = product_create(
        name="Latte", variations=[VariationSpec(name="Pumpkin Spice", price=Decimal("4.50"),
                                                stock=9)]
    ).variations.get()  # fmt: skip
    cart_item_set(customer_id=customer.pk, variation_id=variation.id, quantity=2)
    order = cart_checkout(customer_id=customer.pk)
    order_payment_complete(order_id=order.id, payment_id=str(uuid.uuid4()))
    order_id = str(order.id)
    tracking, board = browsers(), browsers()

    _log_in(tracking, live_stack.base_url, f"/orders/{order_id}/track/", "cleo")
    assert _status_on_tracking_page(tracking) == "waiting"
    tracking.execute_script("window.notReloaded = true;")
    _log_in(board, live_stack.base_url, "/orders/board/", "mona")
    WebDriverWait(board, 30).until(lambda d: _card_column(d, order_id) == "waiting")

    for move, label in (("preparation", "Preparation"), ("ready", "Ready")):
        _advance(board, order_id, move)
        WebDriverWait(board, 60).until(lambda d, m=move: _card_column(d, order_id) == m)
        WebDriverWait(tracking, 60).until(lambda d, m=move: _status_on_tracking_page(d) == m)
        assert tracking.find_element(By.ID, "status").text == label

    current = tracking.find_element(By.CSS_SELECTOR, "#timeline li.current")
    assert current.get_attribute("data-step") == "ready"
    assert tracking.execute_script("return window.notReloaded === true;")  # no reload
    ARTIFACTS.mkdir(exist_ok=True)
    assert board.save_screenshot(str(ARTIFACTS / "realtime-board.png"))
    assert tracking.save_screenshot(str(ARTIFACTS / "realtime-tracking.png"))
    print(f"screenshots: {ARTIFACTS}/realtime-board.png, realtime-tracking.png")
