"""End to end in a real headless browser (Debian's chromium and chromedriver, driven by selenium): sign up,
upload a sample form, see its digits, draw a number on the canvas and see it read.

With EXTRACTOR_SCREENSHOTS=DIR the result and draw pages are saved there (`make screenshots` -> docs/).
"""

import os
import shutil
import threading
from pathlib import Path

import pandas as pd
import pytest

from conftest import ROOT

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                                reason="needs Debian's chromium and chromium-driver (make test installs them as root)")


@pytest.fixture()
def server(tmp_path, classifier):
    """The app on a free localhost port, in a thread, for the life of one test."""
    from werkzeug.serving import make_server

    from extractor.web import create_app

    app = create_app({"DATA_DIR": str(tmp_path / "web"), "CLASSIFIER": classifier})
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


@pytest.fixture()
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={tmp_path / 'chromium'}", "--window-size=1280,1400"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(120)
    yield driver
    driver.quit()


def test_signup_upload_and_draw_in_a_browser(server, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as seen
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 120)
    shots = os.environ.get("EXTRACTOR_SCREENSHOTS")

    browser.get(server + "/signup")
    browser.find_element(By.ID, "username").send_keys("clerk")
    browser.find_element(By.ID, "password").send_keys("a long passphrase")
    browser.find_element(By.ID, "confirm").send_keys("a long passphrase")
    browser.find_element(By.ID, "signup").click()
    wait.until(seen.presence_of_element_located((By.ID, "files")))

    sample = ROOT / "samples" / "forms" / "form_1.png"
    browser.find_element(By.ID, "files").send_keys(str(sample))
    browser.find_element(By.ID, "read").click()
    wait.until(seen.presence_of_element_located((By.CSS_SELECTOR, "table.strings")))
    read = {cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "td.text")}
    expected = pd.read_csv(ROOT / "samples" / "expected.csv", dtype=str)
    want = set(expected[expected.source == "form_1.png"].text)
    assert len(read & want) >= len(want) - 2, (read, want)
    image = browser.find_element(By.CSS_SELECTOR, "figure img")
    assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", image) > 0
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(Path(shots) / "results.png"))

    browser.get(server + "/draw")
    canvas = wait.until(seen.presence_of_element_located((By.ID, "canvas")))
    width = canvas.size["width"]
    # A "1" then a "7", in strokes of the mouse, as a person would draw them.
    strokes = [[(-0.25, -0.35), (-0.25, 0.35)],
               [(0.05, -0.35), (0.3, -0.35), (0.15, 0.35)]]
    for stroke in strokes:
        x, y = stroke[0]
        actions = ActionChains(browser).move_to_element_with_offset(canvas, int(x * width), int(y * width * 0.43))
        actions.click_and_hold()
        for (x0, y0), (x1, y1) in zip(stroke, stroke[1:]):
            for t in (0.25, 0.5, 0.75, 1.0):
                actions.move_to_element_with_offset(canvas, int((x0 + t * (x1 - x0)) * width),
                                                    int((y0 + t * (y1 - y0)) * width * 0.43))
        actions.release().perform()
    browser.find_element(By.ID, "read-drawing").click()
    wait.until(seen.visibility_of_element_located((By.ID, "drawing-digits")))
    assert browser.find_element(By.ID, "drawing-text").text == "17"
    rows = browser.find_elements(By.CSS_SELECTOR, "#drawing-digits tbody tr")
    assert len(rows) == 2 and all(len(r.find_elements(By.TAG_NAME, "td")) == 4 for r in rows)
    if shots:
        browser.save_screenshot(str(Path(shots) / "draw.png"))

    browser.get(server + "/history")
    read = [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "td.text")]
    assert "17" in read  # the read column, not the whole page, whose times may hold a 17
