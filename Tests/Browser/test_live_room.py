"""Browser test: the studio and the viewer page in headless Chromium (Debian's chromium and
chromium-driver, driven by Selenium).

A streamer opens a room, adds a product with stock 3 and starts a sale; viewers join, comment
(each sees the other's comment) and buy; the streamer sees the orders in the stream; a fourth
buyer sees "sold out". Screenshots of the studio and a viewer page go to $HOMETOWN_ARTIFACTS.

Run by Tests/Browser/run.sh, which installs what it needs and builds the server.
"""
import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

BINARY = os.environ.get("HOMETOWN_BIN", ".build/debug/hometown")
ARTIFACTS = os.environ.get("HOMETOWN_ARTIFACTS", "/tmp/hometown-artifacts")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = free_port()
    data = tempfile.mkdtemp(prefix="hometown-browser-")
    process = subprocess.Popen(
        [BINARY, "serve", "--port", str(port), "--data", data, "--log-level", "warn"],
        env={**os.environ, "HOMETOWN_JWT_SECRET": "browser-test-secret-0123456789"})
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1)
            break
        except OSError:
            time.sleep(0.05)
    yield base
    process.terminate()
    assert process.wait(timeout=15) == 0


def browser(width=1280, height=900):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     f"--window-size={width},{height}", "--lang=zh-CN"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def wait(driver, condition, timeout=15):
    return WebDriverWait(driver, timeout).until(condition)


def click(driver, by, value, timeout=15):
    """Clicks an element that the page may re-render at any moment (the studio redraws its
    product table on every room event): find and click again until one click lands."""
    def attempt(d):
        try:
            element = d.find_element(by, value)
            if not element.is_enabled():
                return False
            element.click()
            return True
        except StaleElementReferenceException:
            return False
    wait(driver, attempt, timeout)


def text_in(selector, text):
    return EC.text_to_be_present_in_element((By.CSS_SELECTOR, selector), text)


def join_room(driver, base, room, name):
    driver.get(f"{base}/room/{room}")
    wait(driver, EC.visibility_of_element_located((By.ID, "login-name"))).send_keys(name)
    driver.find_element(By.ID, "login-submit").click()
    wait(driver, EC.visibility_of_element_located((By.ID, "comment-input")))


def comment(driver, text):
    box = driver.find_element(By.ID, "comment-input")
    box.send_keys(text)
    driver.find_element(By.ID, "comment-send").click()


def buy(driver):
    click(driver, By.ID, "buy")
    wait(driver, lambda d: d.find_element(By.ID, "order-result").get_attribute("data-status"))
    return driver.find_element(By.ID, "order-result").get_attribute("data-status")


def test_a_flash_sale_in_real_browsers(server):
    os.makedirs(ARTIFACTS, exist_ok=True)
    room = "farm"
    drivers = []
    try:
        # The streamer opens the room, adds a product with stock 3 and starts the sale.
        studio = browser()
        drivers.append(studio)
        studio.get(f"{server}/studio/{room}")
        wait(studio, EC.visibility_of_element_located((By.ID, "login-name"))).send_keys("老王 Lao Wang")
        studio.find_element(By.ID, "login-submit").click()
        wait(studio, EC.visibility_of_element_located((By.ID, "room-title"))).send_keys("冬笋直播 Winter bamboo")
        studio.find_element(By.ID, "open-room").click()
        wait(studio, text_in("#live-badge", "LIVE"))
        studio.find_element(By.ID, "add-sku").send_keys("bamboo")
        studio.find_element(By.ID, "add-title").send_keys("冬笋 Winter bamboo shoots")
        studio.find_element(By.ID, "add-price").send_keys("39.90")
        studio.find_element(By.ID, "add-stock").send_keys("3")
        studio.find_element(By.ID, "add-product").click()
        wait(studio, EC.element_to_be_clickable((By.ID, "start-sale-bamboo")))
        limit = studio.find_element(By.ID, "sale-limit")
        limit.clear()
        limit.send_keys("1")
        click(studio, By.XPATH, "//tr[@data-sku='bamboo']//button[text()='Pin']")
        wait(studio, text_in("tr[data-sku='bamboo']", "pinned"))
        click(studio, By.ID, "start-sale-bamboo")
        wait(studio, text_in("tr[data-sku='bamboo'] .sale-state", "live"))

        # Two viewers join and each sees the other's comment.
        alice, bob = browser(), browser(390, 844)  # a desktop and a phone-sized screen
        drivers += [alice, bob]
        join_room(alice, server, room, "Alice 小红")
        join_room(bob, server, room, "Bob 小明")
        comment(alice, "冬笋新鲜吗? Is it fresh?")
        wait(bob, text_in("#comments", "冬笋新鲜吗? Is it fresh?"))
        comment(bob, "刚挖的! Dug this morning")
        wait(alice, text_in("#comments", "刚挖的! Dug this morning"))

        # They buy; a third buyer takes the last unit; a fourth sees "sold out".
        assert buy(alice) == "accepted"
        assert buy(bob) == "accepted"
        carol = browser()
        drivers.append(carol)
        join_room(carol, server, room, "Carol")
        assert buy(carol) == "accepted"
        dave = browser()
        drivers.append(dave)
        join_room(dave, server, room, "Dave")
        wait(dave, text_in("#buy", "Sold out"))
        assert not dave.find_element(By.ID, "buy").is_enabled()
        assert "sold out" in dave.find_element(By.ID, "pinned-sale").text

        # The streamer's order stream has all three, with running totals.
        wait(studio, text_in("#total-orders", "3"))
        assert studio.find_element(By.ID, "total-units").text == "3"
        assert studio.find_element(By.ID, "total-revenue").text == "¥119.70"
        assert len(studio.find_elements(By.CSS_SELECTOR, "#orders li")) == 3
        wait(studio, text_in("#comments", "Dug this morning"))

        studio.save_screenshot(os.path.join(ARTIFACTS, "studio.png"))
        alice.save_screenshot(os.path.join(ARTIFACTS, "viewer-desktop.png"))
        bob.save_screenshot(os.path.join(ARTIFACTS, "viewer-phone.png"))
        dave.save_screenshot(os.path.join(ARTIFACTS, "viewer-sold-out.png"))

        # A sale with a payment window: Dave's order waits for payment, the studio shows it unpaid
        # with its time left; Dave cancels it and the unit goes back on sale for everyone.
        studio.find_element(By.ID, "add-sku").send_keys("orange")
        studio.find_element(By.ID, "add-title").send_keys("脐橙 Navel oranges")
        studio.find_element(By.ID, "add-price").send_keys("29.90")
        studio.find_element(By.ID, "add-stock").send_keys("1")
        studio.find_element(By.ID, "add-product").click()
        wait(studio, EC.element_to_be_clickable((By.ID, "start-sale-orange")))
        window = studio.find_element(By.ID, "sale-window")
        window.clear()
        window.send_keys("600")
        click(studio, By.XPATH, "//tr[@data-sku='orange']//button[text()='Pin']")
        wait(studio, text_in("tr[data-sku='orange']", "pinned"))
        click(studio, By.ID, "start-sale-orange")
        wait(studio, text_in("tr[data-sku='orange'] .sale-state", "live"))
        wait(dave, text_in("#pinned-title", "Navel oranges"))
        wait(dave, EC.element_to_be_clickable((By.ID, "buy")))
        assert buy(dave) == "accepted"
        wait(dave, text_in("#payment-text", "Pay within"))
        wait(studio, text_in("#total-unpaid", "1"))
        wait(studio, text_in("#orders li[data-state='accepted'] .order-state", "left to pay"))
        assert studio.find_element(By.ID, "total-revenue").text == "¥119.70"  # unpaid is not revenue
        wait(dave, text_in("#pinned-sale", "sold out"))
        click(dave, By.ID, "cancel-order")
        wait(dave, lambda d: d.find_element(By.ID, "order-result").get_attribute("data-state") == "cancelled")
        wait(dave, text_in("#pinned-left", "1"))
        wait(studio, text_in("#total-cancelled", "1"))
        assert studio.find_element(By.ID, "total-unpaid").text == "0"
        studio.save_screenshot(os.path.join(ARTIFACTS, "studio-orders.png"))

        # The room list shows the room live.
        rooms = json.load(urllib.request.urlopen(server + "/api/rooms"))
        assert any(entry["room"] == room and entry["live"] for entry in rooms)
    finally:
        for driver in drivers:
            driver.quit()
