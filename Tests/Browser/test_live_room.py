"""Browser test: the studio and the viewer page in headless Chromium (Debian's chromium and
chromium-driver, driven by Selenium).

A streamer opens a room, sets its video (a clip made with ffmpeg at test time, served from a
second origin the server's Content-Security-Policy allows), adds a product with stock 3 and starts
a sale; viewers on a desktop-sized and a phone-sized window see the video play, comment (each sees
the other's comment) and buy; the streamer sees the orders in the stream; a fourth buyer sees
"sold out"; a sale with a payment window is cancelled by its buyer. Every page passes axe-core's
rules with no serious violation, and two pages whose clocks differ by five minutes open a
scheduled sale within 300 ms of each other. Screenshots go to $HOMETOWN_ARTIFACTS.

Run by Tests/Browser/run.sh, which installs what it needs and builds the server.
"""
import functools
import http.server
import json
import os
import socket
import subprocess
import tempfile
import threading
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
def media():
    """A second origin serving a short test clip (VP8 WebM with a moving test pattern and a tone),
    generated now with ffmpeg: the room's 'stream'."""
    directory = tempfile.mkdtemp(prefix="hometown-media-")
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=360x640:rate=25:duration=30",
         "-f", "lavfi", "-i", "sine=frequency=440:duration=30", "-c:v", "libvpx", "-b:v", "400k", "-c:a", "libvorbis",
         "-shortest", os.path.join(directory, "clip.webm")], check=True)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=directory)
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def server(media):
    port = free_port()
    data = tempfile.mkdtemp(prefix="hometown-browser-")
    config = os.path.join(data, "browser.json")
    with open(config, "w") as file:
        json.dump({"stage": {"media_origins": [media]}}, file)
    process = subprocess.Popen(
        [BINARY, "serve", "--port", str(port), "--data", data, "--log-level", "warn", "--config", config],
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


def browser(width=1280, height=900, lang="en-US", clock_offset_ms=0):
    """A headless Chromium window. `clock_offset_ms` makes the page's Date.now() that far off the
    real clock (a phone whose clock is wrong)."""
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     f"--window-size={width},{height}", f"--lang={lang}", "--autoplay-policy=no-user-gesture-required"):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"intl.accept_languages": lang})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    if width < 600:
        # A phone: its screen size, pixel density and touch (a headless window cannot be narrower
        # than 500 px, so the size is emulated).
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": width, "height": height, "deviceScaleFactor": 3, "mobile": True})
        driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": True})
    if clock_offset_ms:
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": f"""
            (() => {{ const real = Date.now.bind(Date); Date.now = () => real() + {clock_offset_ms}; }})();"""})
    return driver


AXE = None


def axe_violations(driver):
    """axe-core's rules (from the axe-selenium-python wheel, run from the test side: nothing is
    shipped in the pages); the serious and critical violations."""
    global AXE
    if AXE is None:
        import axe_selenium_python
        with open(os.path.join(os.path.dirname(axe_selenium_python.__file__), "node_modules", "axe-core", "axe.min.js")) as file:
            AXE = file.read()
    driver.execute_script(AXE)
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations)).catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e), nodes: []}]));")
    return [v for v in result if v.get("impact") in ("serious", "critical")]


def assert_accessible(driver, page):
    violations = axe_violations(driver)
    assert not violations, page + ": " + "; ".join(
        f"{v['id']} ({v['impact']}): {v['help']} at {[n.get('target') for n in v.get('nodes', [])][:3]}" for v in violations)


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


def open_studio(driver, base, room, streamer, title):
    """Signs in to the room's studio as its streamer and opens the room."""
    driver.get(f"{base}/studio/{room}")
    wait(driver, EC.visibility_of_element_located((By.ID, "login-name"))).send_keys(streamer)
    driver.find_element(By.ID, "login-submit").click()
    wait(driver, EC.visibility_of_element_located((By.ID, "room-title"))).send_keys(title)
    driver.find_element(By.ID, "open-room").click()
    wait(driver, text_in("#live-badge", "LIVE"))


def add_product(driver, sku, title, price, stock):
    """Adds a product in the studio and waits for its row."""
    for field, value in (("add-sku", sku), ("add-title", title), ("add-price", price), ("add-stock", stock)):
        driver.find_element(By.ID, field).send_keys(value)
    driver.find_element(By.ID, "add-product").click()
    wait(driver, EC.element_to_be_clickable((By.ID, "start-sale-" + sku)))


def pin_and_start(driver, sku):
    """Pins a product and starts its sale with the form's settings; waits until it is live (or scheduled)."""
    click(driver, By.CSS_SELECTOR, f"tr[data-sku='{sku}'] button[data-action='pin']")
    wait(driver, text_in(f"tr[data-sku='{sku}']", "pinned"))
    click(driver, By.ID, "start-sale-" + sku)


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


def playing(driver, seconds=1.0):
    """The room's video element is playing: its time advances past `seconds`."""
    return driver.execute_script(
        "const v = document.getElementById('video'); return !v.paused && v.currentTime > arguments[0]", seconds)


def test_a_flash_sale_in_real_browsers(server, media):
    os.makedirs(ARTIFACTS, exist_ok=True)
    room = "farm"
    drivers = []
    try:
        # The streamer opens the room, adds a product with stock 3 and starts the sale.
        studio = browser()
        drivers.append(studio)
        open_studio(studio, server, room, "老王 Lao Wang", "冬笋直播 Winter bamboo")
        # The room's video: the clip from the media origin; the studio previews it.
        studio.find_element(By.ID, "stream-url").send_keys(media + "/clip.webm")
        studio.find_element(By.ID, "set-stream").click()
        wait(studio, lambda d: d.execute_script("const v = document.getElementById('preview'); return v.currentTime > 0.3"))
        add_product(studio, "bamboo", "冬笋 Winter bamboo shoots", "39.90", "3")
        limit = studio.find_element(By.ID, "sale-limit")
        limit.clear()
        limit.send_keys("1")
        pin_and_start(studio, "bamboo")
        wait(studio, EC.text_to_be_present_in_element_attribute(
            (By.CSS_SELECTOR, "tr[data-sku='bamboo'] .sale-state"), "data-state", "live"))

        # Two viewers join and each sees the other's comment.
        alice, bob = browser(), browser(390, 844, lang="zh-CN")  # a desktop, and a phone in Chinese
        drivers += [alice, bob]
        join_room(alice, server, room, "Alice 小红")
        join_room(bob, server, room, "Bob 小明")
        # The stream plays on both (muted, with a tap-to-unmute), the phone's filling its screen.
        wait(alice, lambda d: playing(d))
        wait(bob, lambda d: playing(d))
        assert alice.find_element(By.ID, "unmute").is_displayed()
        video = bob.find_element(By.ID, "video").rect
        screen = bob.execute_script("return [innerWidth, innerHeight]")
        assert video["width"] >= screen[0] - 1 and video["height"] >= screen[1] - 1, (video, screen)
        assert screen[0] == 390, screen
        # One language at a time: the phone is in Chinese, the desktop in English.
        assert "立即抢购" in bob.find_element(By.ID, "buy").text
        assert "Buy now" in alice.find_element(By.ID, "buy").text
        assert "立即抢购" not in alice.page_source.split("<script")[0]
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
        assert "Sold out" in dave.find_element(By.ID, "pinned-sale").text

        # The streamer's order stream has all three, with running totals.
        wait(studio, text_in("#total-orders", "3"))
        assert studio.find_element(By.ID, "total-units").text == "3"
        assert studio.find_element(By.ID, "total-revenue").text == "¥119.70"
        assert len(studio.find_elements(By.CSS_SELECTOR, "#orders li")) == 3
        wait(studio, text_in("#comments", "Dug this morning"))

        assert_accessible(alice, "viewer (desktop)")
        assert_accessible(bob, "viewer (phone)")
        assert_accessible(studio, "studio")
        studio.save_screenshot(os.path.join(ARTIFACTS, "studio.png"))
        alice.save_screenshot(os.path.join(ARTIFACTS, "viewer-desktop.png"))
        bob.save_screenshot(os.path.join(ARTIFACTS, "viewer-phone.png"))
        dave.save_screenshot(os.path.join(ARTIFACTS, "viewer-sold-out.png"))

        # A sale with a payment window: Dave's order waits for payment, the studio shows it unpaid
        # with its time left; Dave cancels it and the unit goes back on sale for everyone.
        add_product(studio, "orange", "脐橙 Navel oranges", "29.90", "1")
        window = studio.find_element(By.ID, "sale-window")
        window.clear()
        window.send_keys("600")
        pin_and_start(studio, "orange")
        wait(studio, EC.text_to_be_present_in_element_attribute(
            (By.CSS_SELECTOR, "tr[data-sku='orange'] .sale-state"), "data-state", "live"))
        wait(dave, text_in("#pinned-title", "Navel oranges"))
        wait(dave, EC.element_to_be_clickable((By.ID, "buy")))
        assert buy(dave) == "accepted"
        wait(dave, text_in("#payment-text", "Pay within"))
        wait(studio, text_in("#total-unpaid", "1"))
        wait(studio, text_in("#orders li[data-state='accepted'] .order-state", "left to pay"))
        assert studio.find_element(By.ID, "total-revenue").text == "¥119.70"  # unpaid is not revenue
        wait(dave, text_in("#pinned-sale", "Sold out"))
        click(dave, By.ID, "cancel-order")
        wait(dave, lambda d: d.find_element(By.ID, "order-result").get_attribute("data-state") == "cancelled")
        wait(dave, text_in("#pinned-left", "1 left"))
        wait(studio, text_in("#total-cancelled", "1"))
        assert studio.find_element(By.ID, "total-unpaid").text == "0"
        studio.save_screenshot(os.path.join(ARTIFACTS, "studio-orders.png"))

        # The room list shows the room live.
        rooms = json.load(urllib.request.urlopen(server + "/api/rooms"))
        assert any(entry["room"] == room and entry["live"] for entry in rooms)
    finally:
        for driver in drivers:
            driver.quit()


def test_pages_whose_clocks_differ_open_a_sale_together(server):
    """Two viewers, one whose clock is five minutes fast: a sale scheduled 4 s ahead turns their
    buy buttons live within 300 ms of each other (each page counts down on the server's clock)."""
    room = "clocks"
    drivers = []
    try:
        studio = browser()
        drivers.append(studio)
        open_studio(studio, server, room, "Clock keeper", "Countdown")
        add_product(studio, "apple", "Apples", "5", "50")
        click(studio, By.CSS_SELECTOR, "tr[data-sku='apple'] button[data-action='pin']")
        wait(studio, text_in("tr[data-sku='apple']", "pinned"))
        right, fast = browser(), browser(390, 844, clock_offset_ms=5 * 60 * 1000)
        drivers += [right, fast]
        for driver, name in ((right, "On time"), (fast, "Fast clock")):
            join_room(driver, server, room, name)
            # Record, on the real clock, when the buy button turns live.
            driver.execute_script("""
                window.enabledAt = null;
                const timer = setInterval(() => {
                  if (!document.getElementById('buy').disabled) {
                    window.enabledAt = performance.timeOrigin + performance.now(); clearInterval(timer);
                  }
                }, 5);""")
        assert fast.execute_script("return Date.now() - performance.timeOrigin - performance.now()") > 290_000
        countdown = studio.find_element(By.ID, "sale-countdown")
        countdown.clear()
        countdown.send_keys("4")
        click(studio, By.ID, "start-sale-apple")
        wait(right, text_in("#countdown", "0:0"))
        wait(fast, text_in("#countdown", "0:0"))
        times = [wait(driver, lambda d: d.execute_script("return window.enabledAt"), timeout=20) for driver in (right, fast)]
        print(f"buy buttons turned live {abs(times[0] - times[1]):.0f} ms apart")
        assert abs(times[0] - times[1]) < 300
    finally:
        for driver in drivers:
            driver.quit()
