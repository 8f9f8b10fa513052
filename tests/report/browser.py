"""Headless Debian Chromium driven by Selenium through the system chromedriver.

Never downloads a browser or a driver: the paths are Debian's (``chromium`` and
``chromium-driver``), overridable with ``AUDIOPARITY_CHROMIUM`` / ``AUDIOPARITY_CHROMEDRIVER``.
"""

from __future__ import annotations

import os
import shutil
import tempfile

CHROMIUM = os.environ.get("AUDIOPARITY_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("AUDIOPARITY_CHROMEDRIVER", "/usr/bin/chromedriver")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1280,1600")
INSTALL = "install it with `make install` (apt-get install chromium chromium-driver)"


class BrowserUnavailable(RuntimeError):
    """Chromium, its driver or Selenium is missing or will not start (one line: why, fix)."""


def start_chromium(width: int = 1280, height: int = 1600):
    """A headless Chromium WebDriver with the browser log readable; the caller quits it."""
    try:
        from selenium import webdriver
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        raise BrowserUnavailable("selenium is not installed: pip install -e '.[dev]'") from None
    for path, what in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromedriver")):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            raise BrowserUnavailable(f"{what} not found at {path}: {INSTALL}")
    profile = tempfile.mkdtemp(prefix="audioparity-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--window-size={width},{height}")
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER),
                                  options=options)
    except (WebDriverException, OSError) as exc:
        shutil.rmtree(profile, ignore_errors=True)
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise BrowserUnavailable(f"chromium did not start: {first}") from None
    driver._audioparity_profile = profile
    return driver


def stop_chromium(driver) -> None:
    profile = getattr(driver, "_audioparity_profile", None)
    try:
        driver.quit()
    finally:
        if profile:
            shutil.rmtree(profile, ignore_errors=True)


def severe_console_messages(driver) -> list[str]:
    """Browser-log entries at SEVERE level (console errors, CSP violations, failed loads)."""
    return [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def screenshot(html: str, png: str, width: int = 1280, max_height: int = 2400) -> None:
    """Save a PNG of the page ``html`` (its top ``max_height`` CSS pixels) to ``png``."""
    from pathlib import Path

    driver = start_chromium(width, 1000)
    try:
        driver.get(Path(html).resolve().as_uri())
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(width, min(height, max_height))
        driver.save_screenshot(png)
    finally:
        stop_chromium(driver)


if __name__ == "__main__":  # python tests/report/browser.py REPORT.html OUT.png
    import sys

    screenshot(sys.argv[1], sys.argv[2])
